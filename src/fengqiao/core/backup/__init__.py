"""Backups (备份) of the database and uploaded files: sealed, authenticated, drillable.

``create_backup`` snapshots the database (SQLite online backup API, or ``pg_dump -Fc`` from an
exported snapshot) and MEDIA_ROOT into one file, with a manifest of per-table row counts and
digests; ``restore_backup`` puts it back; ``drill_backup`` restores into a throw-away database
and compares. Modules: ``sealing`` (the encrypted chunk stream), ``archive`` (the members inside
it), ``databases`` (snapshots, restores and row digests per backend), ``operations`` (the three
operations and their audit events). Import from this package.

The file is sealed under a key derived from ``FENGQIAO_BLIND_INDEX_KEY``: the one platform
secret that can never be rotated without recomputing every blind index, so a backup stays
readable as long as the data inside it is usable. Restoring also needs ``FENGQIAO_FIELD_KEYS``
(every key id the data was written with), ``FENGQIAO_TIP_PEPPER`` and the same
``FENGQIAO_CRYPTO`` suite; without them the restored data cannot be read anyway.
"""

from fengqiao.core.backup.operations import (
    BackupResult,
    DrillResult,
    RestoreResult,
    TableCheck,
    Verification,
    create_backup,
    drill_backup,
    restore_backup,
)
from fengqiao.core.backup.sealing import BackupError

__all__ = [
    "BackupError",
    "BackupResult",
    "DrillResult",
    "RestoreResult",
    "TableCheck",
    "Verification",
    "create_backup",
    "drill_backup",
    "restore_backup",
]
