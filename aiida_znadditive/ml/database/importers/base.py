"""What every importer shares: the skip log, the import context, file helpers and the standardisation pipeline.

An importer is a generator of record dicts (the columns of :mod:`..schema` its source gives) or of Arrow tables
already in the schema. It reads its input lazily, a chunk at a time, so that any size streams through.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import gzip
import hashlib
import importlib.metadata
import io
import logging
import math
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..standardise import StandardiseSettings, standardise_many

__all__ = (
    'ImportContext',
    'Importer',
    'SkipLog',
    'SourceError',
    'file_version',
    'open_binary',
    'open_text',
    'package_version',
)

LOGGER = logging.getLogger('aiida_znadditive.ml.database')


class SourceError(ValueError):
    """A file that cannot be read as the source at all (missing, or not in the source's format); names the file."""


class SkipLog:
    """Per-run account of what was read, skipped (and why) and warned about; each skip is also logged.

    ``skipped`` and ``warnings`` count by key (``'too large'``, ``'element Se not allowed'``); ``examples`` keeps the
    first few ``'source_id: reason'`` per key. ``messages`` holds notes about whole files (``empty file``).
    """

    def __init__(
        self, source: str, examples: int = 3, logger: logging.Logger = LOGGER, record: Path | None = None
    ) -> None:
        self.source = source
        #: ``record``: a TSV of every skip and warning (kind, source_id, key, reason, text), made at the first one;
        #: the terminal shows a few examples per reason, the file has each bad line with its id
        self.record = record
        self._record_handle = None
        self.read = 0
        self.skipped: collections.Counter[str] = collections.Counter()
        self.warnings: collections.Counter[str] = collections.Counter()
        self.examples: dict[str, list[str]] = {}
        self.messages: list[str] = []
        self._max_examples = examples
        self._logger = logger

    def skip(self, source_id: str, reason: str, key: str | None = None, text: str | None = None) -> None:
        """Count a molecule that does not enter, logging it (at warning level for the first few of each key)."""
        self._count(self.skipped, source_id, reason, key or reason, text=text, kind='skipped')

    def warn(self, source_id: str, reason: str, key: str | None = None) -> None:
        """Count a molecule that enters with something missing (e.g. a geometry that did not match)."""
        self._count(self.warnings, source_id, reason, key or reason, text=None, kind='warning')

    def note(self, message: str) -> None:
        """Record (and log) something about a whole file."""
        self.messages.append(message)
        self._logger.warning('%s: %s', self.source, message)

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        """One line per reason, most frequent first; ``'nothing skipped'`` when clean."""
        if not self.skipped:
            return 'nothing skipped'
        return '\n'.join(f'{count:>9,} skipped: {key}' for key, count in self.skipped.most_common())

    def as_dict(self) -> dict:
        return {
            'source': self.source,
            'read': self.read,
            'skipped': dict(self.skipped.most_common()),
            'warnings': dict(self.warnings.most_common()),
            'examples': self.examples,
            'messages': list(self.messages),
        }

    def close(self) -> None:
        if self._record_handle is not None:
            self._record_handle.close()
            self._record_handle = None

    def _write_record(self, kind: str, source_id: str, key: str, reason: str, text: str | None) -> None:
        if self._record_handle is None:
            self.record.parent.mkdir(parents=True, exist_ok=True)
            self._record_handle = open(self.record, 'w', encoding='utf-8', newline='\n')  # noqa: SIM115 - closed by close()
            self._record_handle.write('kind\tsource_id\treason_key\treason\ttext\n')
        fields = (kind, source_id, key, reason, (text or '')[:200])
        # tabs and line breaks inside a field would shift the columns of every later line
        self._record_handle.write('\t'.join(' '.join(str(f).split()) for f in fields) + '\n')

    def _count(self, counter, source_id: str, reason: str, key: str, *, text: str | None, kind: str) -> None:
        counter[key] += 1
        if self.record is not None:
            self._write_record(kind, source_id, key, reason, text)
        example = f'{source_id}: {reason}' + (f' ({text[:80]})' if text else '')
        examples = self.examples.setdefault(key, [])
        if len(examples) < self._max_examples:
            examples.append(example)
            self._logger.warning('%s %s %s', self.source, kind, example)
        else:  # every skip is in the log at debug level; the count carries the rest
            self._logger.debug('%s %s %s', self.source, kind, example)


class Standardiser:
    """:func:`~..standardise.standardise_many` over chunks of SMILES, here or in ``workers`` processes, in order.

    With workers, at most ``2 * workers`` chunks are in flight, so memory stays bounded however long the input.
    """

    def __init__(self, settings: StandardiseSettings, workers: int = 1) -> None:
        self.settings = settings
        self.workers = max(1, int(workers))
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def map(self, chunks: Iterable[tuple[list[str], Any]]) -> Iterator[tuple[list, Any]]:
        """For each ``(smiles, payload)`` chunk: ``(results, payload)``, results as from ``standardise_many``."""
        if self.workers == 1:
            for smiles, payload in chunks:
                yield standardise_many(smiles, self.settings), payload
            return
        if self._pool is None:
            # spawn: RDKit and pyarrow hold threads, which fork would copy in an undefined state.
            context = multiprocessing.get_context('spawn')
            self._pool = concurrent.futures.ProcessPoolExecutor(self.workers, mp_context=context)
        pending: collections.deque = collections.deque()
        for smiles, payload in chunks:
            pending.append((self._pool.submit(standardise_many, smiles, self.settings), payload))
            if len(pending) >= 2 * self.workers:
                future, first = pending.popleft()
                yield future.result(), first
        while pending:
            future, first = pending.popleft()
            yield future.result(), first

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


@dataclasses.dataclass
class ImportContext:
    """What an importer needs besides its input: settings, the skip log, a row limit and the standardiser.

    ``limit`` counts input records (read, whether they enter or not), so that a run over the first N rows writes N
    minus the skips.
    """

    skips: SkipLog
    settings: StandardiseSettings = dataclasses.field(default_factory=StandardiseSettings)
    limit: int | None = None
    workers: int = 1
    chunk_size: int = 1000

    def __post_init__(self) -> None:
        self.standardiser = Standardiser(self.settings, self.workers)

    @property
    def full(self) -> bool:
        """Whether ``limit`` input records have been read."""
        return self.limit is not None and self.skips.read >= self.limit

    def standardised(self, rows: Iterable[tuple[str, str, Any]]) -> Iterator[tuple[dict, str, Any]]:
        """Standardise ``(source_id, smiles, payload)`` rows; yield ``(identity, source_id, payload)`` for those that
        enter, count the others in the skip log. Stops at ``limit``.
        """

        def chunks():
            chunk: list = []
            for row in rows:
                if self.full:
                    break
                self.skips.read += 1
                chunk.append(row)
                if len(chunk) >= self.chunk_size:
                    yield [smiles for _, smiles, _ in chunk], chunk
                    chunk = []
            if chunk:
                yield [smiles for _, smiles, _ in chunk], chunk

        for results, chunk in self.standardiser.map(chunks()):
            for result, (source_id, smiles, payload) in zip(results, chunk, strict=True):
                if isinstance(result, dict):
                    yield result, source_id, payload
                else:
                    self.skips.skip(source_id, result[0], result[1], smiles)

    def close(self) -> None:
        self.standardiser.close()


@dataclasses.dataclass(frozen=True)
class Importer:
    """A registered source: ``read(path, context, **options)`` yields records or Arrow tables."""

    name: str
    read: Callable[..., Iterator]
    description: str
    path_required: bool
    formats: str = ''


def package_version(distribution: str) -> str:
    """Installed version of a distribution (what a packaged data set is versioned by)."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return 'unknown'


def file_version(path: Path, length: int = 12) -> str:
    """``'sha256:<first length hex digits>'`` of a file, read in blocks: the version of a user's file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return f'sha256:{digest.hexdigest()[:length]}'


def check_file(path: Path | str | None, context: ImportContext) -> Path | None:
    """The path as a Path, or ``None`` (noted) for an empty file; :class:`SourceError` when it is not a file."""
    if path is None:
        raise SourceError('this source needs a PATH to read')
    path = Path(path)
    if not path.is_file():
        raise SourceError(f'{path}: no such file')
    if path.stat().st_size == 0:
        context.skips.note(f'{path}: empty file, no molecules')
        return None
    return path


def open_binary(path: Path):
    """The file for reading bytes, gunzipped on the fly when it ends in ``.gz``."""
    return gzip.open(path, 'rb') if path.suffix == '.gz' else open(path, 'rb')


def open_text(path: Path):
    """The file as UTF-8 text (newlines untranslated, for csv), gunzipped on the fly when it ends in ``.gz``."""
    # errors='replace': one bad byte must cost one molecule (an unparseable SMILES), not the whole file.
    return io.TextIOWrapper(open_binary(path), encoding='utf-8', errors='replace', newline='')


def base_suffix(path: Path) -> str:
    """The suffix that tells the format, under a ``.gz``: ``'.csv'`` for ``x.csv.gz``."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] == '.gz':
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ''


def float_or_none(value) -> float | None:
    """A float, or None for empty, NaN and unreadable values (sources write missing values in many ways)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number
