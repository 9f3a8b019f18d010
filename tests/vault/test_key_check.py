"""The readiness check knows every sealed column: a table that gains one without a place in
``SEALED_KEY_COLUMNS`` would let a process without its key be called ready, and would keep
``linkzoom keys forget-unreadable`` from freeing it."""

from __future__ import annotations

from linkzoom.store.schema import Base  # every table of every capability
from linkzoom.vault.key_check import SEALED_KEY_COLUMNS


def test_every_key_id_column_of_the_schema_is_checked() -> None:
    in_schema = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.tables.values()
        for column in table.columns
        if column.name.endswith("key_id")
    }
    checked = {f"{c.class_.__tablename__}.{c.key}" for c in SEALED_KEY_COLUMNS}
    assert in_schema == checked
