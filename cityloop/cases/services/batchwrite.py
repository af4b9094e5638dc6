"""The write batch of case transitions: ``core.bulk.WriteBatch`` with cheaper statements and parameters.

A batch of the simulation writes tens of thousands of rows (events, stages, cases, requests). Two costs
dominated its flush:

- preparing each value: here through the field's own public ``pre_save``/``get_db_prep_save`` (one
  bound converter per model, field and database), so the parameters are the ones ``core.bulk`` and
  ``Model.save`` send, whatever a Django release changes inside those methods;
- on PostgreSQL, ``executemany`` (psycopg sends, and the server parses, one statement per row). Here
  each group of rows is one statement with one array parameter per column, ``INSERT … SELECT … FROM
  unnest(%s::type[], …) WITH ORDINALITY … ORDER BY n`` (ids in the given order) and ``UPDATE … FROM
  unnest(…) AS v(…) WHERE id = v.k``: short and the same every time, so psycopg's query cache keeps it
  (multi-row ``VALUES`` lists were re-parsed by psycopg at every call). SQLite keeps ``executemany`` of
  one prepared statement, its fastest way.

Rows, columns and values written are the same as ``WriteBatch`` writes (a test compares them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.fields import (
    Field,
)

from cityloop.core.bulk import WriteBatch

Converter = Callable[[models.Model], Any]


class CaseWriteBatch(WriteBatch):
    """``WriteBatch`` whose flush writes the same rows with cheaper statements (see the module)."""

    def insert(self, rows: Sequence[models.Model]) -> None:
        insert_rows(rows)

    def update(self, rows: Sequence[models.Model], field_names: list[str]) -> None:
        update_rows(rows, field_names)


def insert_rows(objects: Sequence[models.Model], *, read_ids: bool = False) -> int:
    """Insert ``objects``, like ``core.bulk.bulk_insert``; with ``read_ids`` each object gets its new id,
    as ``bulk_create`` gives it (PostgreSQL: ``RETURNING``, in the order the rows were inserted, which
    Django's ``bulk_create`` relies on too; SQLite: one cached statement per row and its row id)."""
    if not objects:
        return 0
    model = type(objects[0])
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    alias = router.db_for_write(model)
    connection = connections[alias]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    converters = [_converter(f, connection, add=True) for f in fields]
    params = [[convert(obj) for convert in converters] for obj in objects]
    head = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "
    row_sql = f"({', '.join(['%s'] * len(fields))})"
    pk = meta.pk
    assert pk is not None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement: a column of values per parameter (short, constant SQL that psycopg caches).
            # Rows are numbered and inserted in the given order, so their ids follow it as with executemany.
            arrays = ", ".join(f"%s::{_cast_type(f, connection)}[]" for f in fields)
            names = ", ".join(f"c{i}" for i in range(len(fields)))
            returning = f" RETURNING {quote(pk.column)}" if read_ids else ""
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT {names} FROM unnest({arrays}) "
                f"WITH ORDINALITY AS v({names}, n) ORDER BY n{returning}",
                [list(c) for c in zip(*params, strict=True)],
            )
            if read_ids:
                ids = [row[0] for row in cursor.fetchall()]
                if len(ids) != len(objects):  # pragma: no cover - the database broke its promise
                    raise RuntimeError("INSERT … RETURNING gave back a different number of rows")
                for obj, pk_value in zip(objects, ids, strict=True):
                    obj.pk = pk_value
        elif read_ids:
            for obj, row in zip(objects, params, strict=True):
                cursor.execute(head + row_sql, row)
                obj.pk = cursor.lastrowid
        else:
            cursor.executemany(head + row_sql, params)
    for obj in objects:
        obj._state.adding = False
        obj._state.db = alias
    return len(params)


def update_rows(objects: Sequence[models.Model], fields: Sequence[str]) -> int:
    """Write ``fields`` of every (saved) object, like ``core.bulk.bulk_save``."""
    if not objects:
        return 0
    model = type(objects[0])
    meta = model._meta
    wanted = set(fields)
    concrete = [
        f for f in meta.concrete_fields if (f.name in wanted or f.attname in wanted) and not f.primary_key
    ]
    if not concrete:
        return 0
    pk = meta.pk
    assert pk is not None
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    converters = [_converter(f, connection, add=False) for f in concrete]
    params = [
        [convert(obj) for convert in converters] + [pk.get_db_prep_value(obj.pk, connection)]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement: a column of values per parameter (short, constant SQL that psycopg caches).
            names = [f"c{i}" for i in range(len(concrete))]
            assignments = ", ".join(
                f"{quote(f.column)} = v.{n}" for f, n in zip(concrete, names, strict=True)
            )
            arrays = ", ".join(f"%s::{_cast_type(f, connection)}[]" for f in [*concrete, pk])
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({', '.join([*names, 'k'])}) "
                f"WHERE {table}.{quote(pk.column)} = v.k",
                [list(c) for c in zip(*params, strict=True)],
            )
        else:
            assignments = ", ".join(f"{quote(f.column)} = %s" for f in concrete)
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {quote(pk.column)} = %s", params)
    return len(params)


def _cast_type(field: Field[Any, Any], connection: BaseDatabaseWrapper) -> str:
    """The column type to cast a parameter to (``Field.cast_db_type``, which the stubs do not declare)."""
    cast_type: str = field.cast_db_type(connection)  # type: ignore[attr-defined]
    return cast_type


# --- value converters ------------------------------------------------------------------------

_converters: dict[tuple[str, type[models.Model], str, bool], Converter] = {}


def _converter(field: Field[Any, Any], connection: BaseDatabaseWrapper, *, add: bool) -> Converter:
    """``lambda obj: field.get_db_prep_save(field.pre_save(obj, add), connection)``: each value prepared by the
    field's own public methods, exactly as ``Model.save`` and ``bulk_create`` prepare it (no short cuts that
    copy what those methods do today: a Django release may change them)."""
    key = (connection.alias, field.model, field.attname, add)
    found = _converters.get(key)
    if found is None:
        found = _converters[key] = _make_converter(field, connection, add)
    return found


def _make_converter(field: Field[Any, Any], connection: BaseDatabaseWrapper, add: bool) -> Converter:
    pre_save, prepare = field.pre_save, field.get_db_prep_save

    def convert(obj: models.Model) -> Any:
        return prepare(pre_save(obj, add), connection)

    return convert
