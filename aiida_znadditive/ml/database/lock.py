"""One writer per meta-database folder at a time: an advisory lock (``fcntl.flock``) on ``DIR/.write.lock``.

Two imports into one folder used to pick the same shard index and each delete the other's temporary shard as crash
debris; one reported success for rows that were gone. Every writer (``import_source``, ``import_records``, the
campaign's record step) now holds this lock for its whole write, so shard numbering, the clean-up of a crashed
writer's temporary files and the manifest update see one writer only. The operating system releases the lock of a
process that dies, so a killed import never blocks the next one. A second writer waits (``wait=True``, the default)
and says so, naming the holder's pid; with ``wait=False`` or past ``timeout`` it raises :class:`DatabaseBusy`.
Readers take no lock: a shard appears under its final name only when complete.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path

LOCK_FILE = '.write.lock'
LOGGER = logging.getLogger('aiida_znadditive.ml.database')


class DatabaseBusy(RuntimeError):
    """Another process is writing into the database folder."""


class WriterLock:
    """The folder's writer lock, as a context manager (module docstring)."""

    def __init__(self, directory: str | os.PathLike, *, wait: bool = True, timeout: float | None = None) -> None:
        self.directory = Path(directory)
        self.wait = wait
        self.timeout = timeout
        self._handle = None

    def __enter__(self) -> WriterLock:
        self.directory.mkdir(parents=True, exist_ok=True)
        handle = open(self.directory / LOCK_FILE, 'a+')
        started = time.monotonic()
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                message = f'another import into {self.directory} is running (pid {_holder(handle)})'
                waited = time.monotonic() - started
                if not self.wait or (self.timeout is not None and waited >= self.timeout):
                    handle.close()
                    raise DatabaseBusy(message) from None
                if not announced:
                    LOGGER.warning('%s: waiting for it to finish', message)
                    announced = True
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f'{os.getpid()}\n')
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def _holder(handle) -> str:
    """The pid the lock's holder wrote, or '?' before it has written it."""
    handle.seek(0)
    return handle.read().strip() or '?'
