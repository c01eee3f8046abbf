"""Set-based statements for the state store: one upsert per table and batch, ``IN`` lists in chunks.

The sync loop writes hundreds of rows per transaction. A statement per row (``Session.merge`` is a
SELECT and then an INSERT or UPDATE) costs SQLAlchemy's per-statement overhead each time; one
statement executed for many parameter sets (the driver's ``executemany``) costs it once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Table, and_, bindparam
from sqlalchemy import update as sql_update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

__all__ = ["IN_CHUNK", "chunks", "update_rows", "upsert"]

# Ids per `IN (...)`: one bound parameter each. SQLite builds before 3.32 allow 999 per statement
# (https://www.sqlite.org/limits.html#max_variable_number), PostgreSQL's protocol 65,535.
IN_CHUNK = 500

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _keyed(model: type[Any]) -> tuple[Table, list[str]]:
    """The model's table and the names of its primary key's columns."""
    table = cast(Table, model.__table__)
    return table, [c.name for c in table.primary_key.columns]


def upsert(
    s: Session,
    model: type[Any],
    rows: Sequence[dict[str, Any]],
    update: Sequence[str] | None = None,
) -> None:
    """``INSERT ... ON CONFLICT (primary key) DO UPDATE`` of ``rows`` in one executemany.

    ``update`` names the columns a conflicting row takes from the new one (default: every column
    given but the key); an empty ``update`` is ``DO NOTHING``. Rows with the same key: the last
    one wins, as one ``merge`` after another would (PostgreSQL refuses to touch a row twice in
    one statement).
    """
    if not rows:
        return
    table, keys = _keyed(model)
    unique = list({tuple(r[k] for k in keys): r for r in rows}.values())
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:  # pragma: no cover - open_store takes sqlite:// and postgresql:// URLs only
        raise NotImplementedError(f"no upsert for the {dialect} dialect")
    columns = [c for c in unique[0] if c not in keys] if update is None else list(update)
    if columns:
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in columns})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    s.execute(stmt, unique)


def update_rows(s: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """``UPDATE ... WHERE (primary key) = ...`` of ``rows`` in one executemany.

    Each row gives its primary key and the columns to set, the same columns in every row.
    """
    if not rows:
        return
    table, keys = _keyed(model)
    columns = [c for c in rows[0] if c not in keys]
    # Bound names differ from column names: SQLAlchemy reserves those for the SET clause.
    stmt = (
        sql_update(table)
        .where(and_(*(table.c[k] == bindparam(f"k_{k}") for k in keys)))
        .values({c: bindparam(f"v_{c}") for c in columns})
    )
    params = [{f"k_{k}": r[k] for k in keys} | {f"v_{c}": r[c] for c in columns} for r in rows]
    s.execute(stmt, params)
