"""One process at a time: an advisory lock (``fcntl.flock``) on a file, for work that two processes must not do at
once.

- The meta-database's writers (:mod:`aiida_znadditive.ml.database.store`): two imports into one folder used to pick
  the same shard index and each delete the other's temporary shard as crash debris; one reported success for rows
  that were gone.
- ``aiida-znadditive setup``: two at once created the same code twice, after which every command failed with
  ``MultipleObjectsError``.

The operating system releases the lock of a process that dies, so a killed process never blocks the next one. A
second process waits (``wait=True``, the default) and says so, naming the holder's pid; with ``wait=False`` or past
``timeout`` it raises :class:`LockBusy`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path

LOGGER = logging.getLogger('aiida_znadditive')


class LockBusy(RuntimeError):
    """Another process holds the lock."""


class ExclusiveLock:
    """The lock on ``path``, as a context manager (module docstring); ``what`` names the work in the messages
    ("another {what} is running (pid N)")."""

    busy = LockBusy

    def __init__(self, path: str | os.PathLike, what: str, *, wait: bool = True, timeout: float | None = None) -> None:
        self.path = Path(path)
        self.what = what
        self.wait = wait
        self.timeout = timeout
        self._handle = None

    def __enter__(self) -> ExclusiveLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, 'a+')
        started = time.monotonic()
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                message = f'another {self.what} is running (pid {_holder(handle)})'
                waited = time.monotonic() - started
                if not self.wait or (self.timeout is not None and waited >= self.timeout):
                    handle.close()
                    raise self.busy(message) from None
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
