"""Checks of the shards before they are read: which shards the views may use, and why the others are left out.

Every read (:meth:`~.store.MetaDatabase.shards`, so every query, ``stats`` and the key look-up of an import) checks
each shard against its manifest entry, in this order:

1. damage found earlier by reading the file whole, remembered in ``problems.json`` for this very file;
2. listed in the manifest (a shard it does not list is being written, or was left by a stopped writer);
3. size as recorded;
4. the Parquet footer readable, with an ``inchikey`` column;
5. sha256 as recorded. Hashing is the costly part (about 1 s per GB), so a file is hashed only the first time it is
   read after it changed: its verified (size, mtime_ns, inode) are cached in ``verified.json``, next to
   ``problems.json``, and repeated reads cost one ``stat`` per shard.

A shard failing any check is left out of the views with its reason; a checksum mismatch is remembered in
``problems.json`` so that the next reader does not hash it again. ``verify`` (:meth:`ShardChecker.verify`) reads
every page (with Parquet page checksums, which new shards carry) and hashes every shard again, cache or not.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

__all__ = ('PROBLEMS', 'VERIFIED', 'ShardChecker', 'deep_check', 'sha256_file')

LOGGER = logging.getLogger('aiida_znadditive.ml.database')
#: Shards found damaged, with their (size, mtime_ns, inode): left out until the file changes.
PROBLEMS = 'problems.json'
#: Shards whose sha256 matched the manifest, with their (size, mtime_ns, inode) and that sha256.
VERIFIED = 'verified.json'
#: Marks the log records of a shard left out, so that the command line, which prints them itself, can skip them.
SHARD_PROBLEM = 'shard_problem'
CHECKSUM_DIFFERS = 'content differs from its sha256 in the manifest (changed after it was written); '


class ShardChecker:
    """The shard checks of one database folder, with their in-memory and on-disk caches.

    :attr:`problems` maps a shard's file name to why it is left out.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.problems: dict[str, str] = {}
        #: file name -> ((size, mtime_ns, inode), expected sha256, columns, reason): this object's own checks
        self._checked: dict[str, tuple] = {}

    def healthy(self, entries: dict[str, dict], paths: list[Path]) -> list[tuple[Path, list[str]]]:
        """``(path, column names)`` of the shards among ``paths`` that pass every check against their ``entries``."""
        known = _read_json(self.directory / PROBLEMS)
        verified = _read_json(self.directory / VERIFIED)
        fresh = dict(verified)
        result = []
        for path in paths:
            columns = self.check(path, entries.get(path.name), known, fresh)
            if columns is not None:
                result.append((path, columns))
        for name in sorted(set(entries) - {path.name for path in paths}):
            self.mark_broken(
                self.directory / name,
                'listed in the manifest but missing: its rows are gone; import its sources again, then drop it '
                f'from the manifest with: aiida-znadditive db repair-manifest {self.directory}',
                remember=False,
            )
        present = {path.name for path in paths}
        fresh = {name: value for name, value in fresh.items() if name in present}
        if fresh != verified:
            _write_json(self.directory / VERIFIED, fresh)
        return result

    def check(self, path: Path, entry: dict | None, known: dict, verified: dict) -> list[str] | None:
        """Column names of a shard that passes the checks (module docstring), else None with its reason in
        :attr:`problems`; ``verified`` gains the shard when it was hashed and matched."""
        stat = path.stat()
        key = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        expected = (entry or {}).get('sha256')
        cached = self._checked.get(path.name)
        if cached is not None and cached[:2] == (tuple(key), expected):
            columns, reason = cached[2:]
        else:
            columns, reason = self._check(path, entry, key, known, verified)
            self._checked[path.name] = (tuple(key), expected, columns, reason)
        if reason:
            self.mark_broken(path, reason, remember=False)
            return None
        self.problems.pop(path.name, None)
        return columns

    def _check(self, path: Path, entry: dict | None, key: list[int], known: dict, verified: dict):
        """``(columns, None)`` or ``(None, reason)``; a checksum mismatch is also written to ``problems.json``."""
        reason = self._recorded_reason(path, entry, key, known)
        if reason:
            return None, reason
        try:
            columns = pq.read_schema(path).names
        except Exception as error:  # pyarrow raises ArrowInvalid, OSError, ... on damage
            return None, f'unreadable Parquet: {error}'
        if 'inchikey' not in columns:
            return None, 'not a meta-database shard (no inchikey column)'
        expected = entry.get('sha256')
        if expected and verified.get(path.name) != {'stat': key, 'sha256': expected}:
            if sha256_file(path) != expected:
                reason = CHECKSUM_DIFFERS + self._what_to_do(entry)
                self.mark_broken(path, reason)
                return None, reason
            verified[path.name] = {'stat': key, 'sha256': expected}
        return columns, None

    def _recorded_reason(self, path: Path, entry: dict | None, key: list[int], known: dict) -> str | None:
        """Why a shard is left out by what is on record (damage found before, the manifest), without reading it."""
        if known.get(path.name, {}).get('stat') == key:
            return known[path.name]['reason']
        if entry is None:
            return (
                'not in the manifest: an import is writing it, or one was stopped before recording it (the next '
                f'import records it, or: aiida-znadditive db repair-manifest {self.directory})'
            )
        if entry.get('bytes') not in (None, key[0]):
            return f'{key[0]} bytes, the manifest says {entry["bytes"]} (truncated or overwritten); ' + (
                self._what_to_do(entry)
            )
        return None

    def mark_broken(self, path: Path, reason: str, remember: bool = True) -> None:
        """Leave a shard out of the views; ``remember`` the damage in ``problems.json`` for later readers."""
        if self.problems.get(path.name) != reason:
            LOGGER.warning('%s: shard left out of queries: %s', path, reason, extra={SHARD_PROBLEM: True})
        self.problems[path.name] = reason
        if not remember:
            return
        try:
            stat = path.stat()
        except FileNotFoundError:
            return
        key = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        self._checked[path.name] = (tuple(key), None, None, reason)
        known = _read_json(self.directory / PROBLEMS)
        known[path.name] = {'reason': reason, 'stat': key}
        _write_json(self.directory / PROBLEMS, known)

    def _what_to_do(self, entry: dict) -> str:
        sources = ', '.join(f'{source}: {rows:,} rows' for source, rows in (entry or {}).get('sources', {}).items())
        return (
            'restore it from a backup, or delete it, run `aiida-znadditive db repair-manifest '
            f'{self.directory}` and import its sources again'
            + (f' ({sources})' if sources else '')
            + ', which adds only the rows that are missing'
        )

    def verify(self, entries: dict[str, dict], paths: list[Path], checksums: bool = True) -> dict[str, str]:
        """Read every page of every healthy shard and hash it again (caches ignored); :attr:`problems`."""
        healthy = self.healthy(entries, paths)
        verified = _read_json(self.directory / VERIFIED)
        for path, _ in healthy:
            entry = entries.get(path.name, {})
            if checksums and entry.get('sha256') and sha256_file(path) != entry['sha256']:
                reason = CHECKSUM_DIFFERS + self._what_to_do(entry)
            else:
                reason = deep_check(path)
            if reason:
                verified.pop(path.name, None)
                self.mark_broken(path, reason)
        _write_json(self.directory / VERIFIED, verified)
        return dict(self.problems)


def deep_check(path: Path) -> str | None:
    """Why a shard cannot be read (every row group read and decoded, page checksums compared where written), or
    None."""
    try:
        parquet = pq.ParquetFile(path, page_checksum_verification=True)
        for index in range(parquet.num_row_groups):
            parquet.read_row_group(index)
    except Exception as error:  # any failure to decode means the shard cannot be trusted
        return f'unreadable Parquet: {error}'
    return None


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):  # a cache: unreadable means empty, and everything is checked again
        return {}
    return value if isinstance(value, dict) else {}


def _write_json(path: Path, value: dict) -> None:
    # Readers write these caches without the writer lock: a temporary file of their own and a rename keep two
    # readers from interleaving; a read-only folder only costs hashing again next time.
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
        with os.fdopen(descriptor, 'w') as handle:
            json.dump(value, handle, indent=1)
        os.replace(temporary, path)
    except OSError as error:
        LOGGER.debug('%s: cannot write the cache (%s)', path, error)
