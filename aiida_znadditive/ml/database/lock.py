"""One writer per meta-database folder at a time: :class:`~aiida_znadditive.environment.locking.ExclusiveLock` on
``DIR/.write.lock``.

Every writer (``import_source``, ``import_records``, the campaign's record step) holds it for its whole write, so
shard numbering, the clean-up of a crashed writer's temporary files and the manifest update see one writer only.
Readers take no lock: a shard appears under its final name only when complete.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...environment.locking import ExclusiveLock, LockBusy

LOCK_FILE = '.write.lock'


class DatabaseBusy(LockBusy):
    """Another process is writing into the database folder."""


class WriterLock(ExclusiveLock):
    """The writer lock of the database folder ``directory``."""

    busy = DatabaseBusy

    def __init__(self, directory: str | os.PathLike, *, wait: bool = True, timeout: float | None = None) -> None:
        super().__init__(Path(directory) / LOCK_FILE, f'import into {directory}', wait=wait, timeout=timeout)
