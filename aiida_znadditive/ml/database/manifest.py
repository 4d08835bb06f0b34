"""The manifest of a database folder: ``manifest.json``, what the shards should be and what each import did.

``manifest.json`` holds the schema version, the columns, per shard its ``rows``, ``bytes``, ``sha256`` and
``sources`` (rows per source) and per import its report. Every read of a shard is checked against it
(:mod:`.integrity`), so it is never replaced by an empty one:

- written atomically (a temporary file, fsync, rename), the version it replaces kept as ``manifest.json.bak``;
- a ``manifest.json`` that cannot be read, or that is missing while shards are there, raises :class:`ManifestError`
  naming the command that rebuilds it (``aiida-znadditive db repair-manifest DIR``, :func:`rebuild_manifest`).

Writers change it only under the folder's writer lock (:mod:`.lock`); readers read it without a lock, which the
atomic rename makes safe.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import tempfile
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from .integrity import deep_check, sha256_file
from .schema import COLUMNS, SCHEMA_VERSION

__all__ = ('BACKUP', 'MANIFEST', 'SHARD_PATTERN', 'ManifestError', 'read_manifest', 'rebuild_manifest')

LOGGER = logging.getLogger('aiida_znadditive.ml.database')
MANIFEST = 'manifest.json'
BACKUP = 'manifest.json.bak'
CORRUPT = 'manifest.json.corrupt'
SHARD_PATTERN = 'part-*.parquet'


class ManifestError(RuntimeError):
    """``manifest.json`` is unreadable, or missing beside shards; the message says how to rebuild it."""


def repair_command(directory: Path) -> str:
    return f'aiida-znadditive db repair-manifest {directory}'


def read_manifest(directory: Path) -> dict:
    """The manifest of ``directory``: ``{}`` for a folder without shards and manifest; :class:`ManifestError` when it
    cannot be trusted."""
    path = Path(directory) / MANIFEST
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        shards = sorted(Path(directory).glob(SHARD_PATTERN))
        if shards:
            raise ManifestError(
                f'{path}: missing, but the folder has {len(shards)} shard(s); without it their checksums cannot be '
                f'checked. Rebuild it from the shards with: {repair_command(directory)}'
            ) from None
        return {}
    try:
        return parse_manifest(text)
    except ValueError as error:
        raise ManifestError(
            f'{path}: unreadable manifest ({error}); it is left untouched so that nothing overwrites its checksums '
            f'and import history. Rebuild it from the shards (and {BACKUP}) with: {repair_command(directory)}'
        ) from None


def parse_manifest(text: bytes) -> dict:
    """A manifest from its bytes; ``ValueError`` for anything that is not one (bad JSON, wrong structure)."""
    manifest = json.loads(text)
    if not isinstance(manifest, dict):
        raise ValueError(f'a JSON {type(manifest).__name__}, not an object')
    shards = manifest.get('shards', {})
    if not isinstance(shards, dict) or not all(isinstance(entry, dict) for entry in shards.values()):
        raise ValueError('"shards" is not an object of shard entries')
    if not isinstance(manifest.get('imports', []), list):
        raise ValueError('"imports" is not a list')
    return manifest


def update_manifest(directory: Path, shards: dict[str, dict] | None = None, imports: list[dict] | None = None) -> dict:
    """Add shard entries and import reports to the manifest (under the writer lock); the new manifest."""
    manifest = read_manifest(directory)
    manifest.setdefault('schema_version', SCHEMA_VERSION)
    manifest.setdefault('columns', list(COLUMNS))
    if shards:
        manifest.setdefault('shards', {}).update(shards)
    if imports:
        manifest.setdefault('imports', []).extend(imports)
    write_manifest(directory, manifest)
    return manifest


def write_manifest(directory: Path, manifest: dict) -> None:
    """Replace the manifest atomically; a readable previous version becomes ``manifest.json.bak``."""
    path = Path(directory) / MANIFEST
    try:
        previous = path.read_bytes()
        parse_manifest(previous)
    except (OSError, ValueError):  # a missing or corrupt manifest must never replace a good backup
        previous = None
    if previous is not None:
        atomic_write(path.with_name(BACKUP), previous)
    atomic_write(path, json.dumps(manifest, indent=1, default=str).encode())


def shard_entry(path: Path, written: str | None = None) -> dict:
    """A shard's manifest entry computed from the file: rows, bytes, sha256, rows per source, when it was written."""
    source = pq.read_table(path, columns=['source']).column('source')
    counts = pc.value_counts(source).to_pylist()
    if written is None:
        mtime = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc)
        written = mtime.isoformat(timespec='seconds')
    return {
        'rows': len(source),
        'bytes': path.stat().st_size,
        'sha256': sha256_file(path),
        'sources': {item['values']: item['counts'] for item in sorted(counts, key=lambda item: item['values'])},
        'written': written,
    }


def prepare_for_writing(directory: Path) -> list[str]:
    """Before a writer writes (under the writer lock): a manifest exists, and it lists every complete shard; the
    names of the shards it did not list.

    A writer renames a finished shard to its final name, then records it: a writer killed between the two leaves a
    complete shard the manifest does not know, which the next writer adds here (rows, checksum, sources).
    """
    manifest = read_manifest(directory)
    if not manifest:
        write_manifest(directory, {'schema_version': SCHEMA_VERSION, 'columns': list(COLUMNS), 'shards': {}})
    listed = manifest.get('shards', {})
    entries = {}
    for path in sorted(Path(directory).glob(SHARD_PATTERN)):
        if path.name in listed:
            continue
        reason = deep_check(path)
        if reason:
            LOGGER.warning('%s: not in the manifest and not adopted: %s', path, reason)
            continue
        entries[path.name] = shard_entry(path)
        LOGGER.warning('%s: a complete shard the manifest did not list (a writer was stopped); recorded', path)
    if entries:
        update_manifest(directory, shards=entries)
    return sorted(entries)


def rebuild_manifest(directory: Path) -> dict:
    """Rebuild ``manifest.json`` from the shards (under the writer lock); what was done, for a person to read.

    Shard entries come from the data (rows, bytes, sha256, rows per source). The previous manifest, or else the
    backup, when readable, gives the import history and the checksums recorded when the shards were written: a shard
    whose content differs from its recorded checksum keeps the recorded entry, so that it stays left out of queries
    instead of being declared healthy. An unreadable ``manifest.json`` is kept as ``manifest.json.corrupt``.

    :return: ``{'shards', 'rows', 'imports', 'history_from', 'notes'}``
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ManifestError(f'{directory}: no such database folder')
    notes: list[str] = []
    previous, history_from = _previous_manifest(directory, notes)
    recorded = previous.get('shards', {})
    shards = _entries_from_shards(directory, recorded, notes)
    for name in sorted(set(recorded) - set(shards)):
        if not (directory / name).exists():
            notes.append(f'{name} was listed but is missing: dropped (import its sources again for its rows)')
    imports = previous.get('imports', [])
    manifest = {
        **previous,
        'schema_version': previous.get('schema_version', SCHEMA_VERSION),
        'columns': previous.get('columns', list(COLUMNS)),
        'shards': shards,
        'imports': imports,
    }
    write_manifest(directory, manifest)
    return {
        'shards': len(shards),
        'rows': sum(entry.get('rows', 0) for entry in shards.values()),
        'imports': len(imports),
        'history_from': history_from,
        'notes': notes,
    }


def _previous_manifest(directory: Path, notes: list[str]) -> tuple[dict, str | None]:
    """The manifest, else the backup, that can be read (``{}`` if neither) and its name; an unreadable
    ``manifest.json`` is moved aside as ``manifest.json.corrupt``."""
    path = directory / MANIFEST
    previous, history_from = {}, None
    for candidate in (path, directory / BACKUP):
        try:
            previous = parse_manifest(candidate.read_bytes())
            history_from = candidate.name
            break
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as error:
            notes.append(f'{candidate.name} unreadable ({error})')
    if path.exists() and history_from != MANIFEST:
        os.replace(path, directory / CORRUPT)
        notes.append(f'the unreadable {MANIFEST} is kept as {CORRUPT}')
    if history_from is None:
        notes.append(f'no readable {MANIFEST} or {BACKUP}: the import history starts empty')
    return previous, history_from


def _entries_from_shards(directory: Path, recorded: dict, notes: list[str]) -> dict[str, dict]:
    """Manifest entries of the shards on disk; a damaged shard keeps its ``recorded`` entry, or is left out."""
    shards = {}
    for shard in sorted(directory.glob(SHARD_PATTERN)):
        old = recorded.get(shard.name, {})
        if old.get('sha256') not in (None, sha256_file(shard)):
            reason = 'its content differs from the checksum recorded when it was written'
        else:
            reason = deep_check(shard)
        if reason and old:
            notes.append(f'{shard.name}: {reason}; its recorded entry is kept, so it stays left out of queries')
            shards[shard.name] = old
        elif reason:
            notes.append(f'{shard.name} left out of the manifest: {reason}')
        else:
            shards[shard.name] = shard_entry(shard, old.get('written'))
    return shards


def atomic_write(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file of its own and a rename: readers see old or new."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(descriptor, 'wb') as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
