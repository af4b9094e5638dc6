"""The write batch of case transitions: ``core.bulk.WriteBatch`` with cheaper statements and parameters.

A batch of the simulation writes tens of thousands of rows (events, stages, cases, requests). Two costs
dominated its flush:

- preparing each value through the field's generic ``pre_save``/``get_db_prep_save`` chain (about ten
  calls per value). Here each field gets, once per model and database, a converter that takes the
  common exact types (``str`` for text, ``int`` for integers and keys, ``bool``, aware ``datetime``) the
  short way (the same value, or the backend's own ``adapt_datetimefield_value``) and hands every other
  value to the field's own methods, so the parameters are the ones ``core.bulk`` would send;
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
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.fields import (
    AutoFieldMixin,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    Field,
    IntegerField,
    TextField,
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
    """``lambda obj: field.get_db_prep_save(field.pre_save(obj, add), connection)``, with a short way for
    the value types where that chain returns the value itself (or the backend's datetime adaptation)."""
    key = (connection.alias, field.model, field.attname, add)
    found = _converters.get(key)
    if found is None:
        found = _converters[key] = _make_converter(field, connection, add)
    return found


def _make_converter(field: Field[Any, Any], connection: BaseDatabaseWrapper, add: bool) -> Converter:
    attname = field.attname

    def slow(obj: models.Model) -> Any:
        return field.get_db_prep_save(field.pre_save(obj, add), connection)

    cls = type(field)
    plain_pre_save = cls.pre_save is Field.pre_save or (
        cls.pre_save in (DateField.pre_save, DateTimeField.pre_save)
        and not getattr(field, "auto_now", False)
        and not getattr(field, "auto_now_add", False)
    )
    if not plain_pre_save or cls.get_db_prep_save is not Field.get_db_prep_save and not field.is_relation:
        return slow
    if field.is_relation:
        target = field.target_field  # type: ignore[attr-defined]
        target_cls = type(target)
        if not (
            isinstance(target, AutoFieldMixin)
            and target_cls.get_db_prep_save is Field.get_db_prep_save
            and target_cls.get_db_prep_value is AutoFieldMixin.get_db_prep_value  # type: ignore[attr-defined]
            and target_cls.get_prep_value is IntegerField.get_prep_value
        ):
            return slow
        validate = connection.ops.validate_autopk_value

        def foreign_key(obj: models.Model) -> Any:
            value = getattr(obj, attname)
            if value is None:
                return None
            if type(value) is int:
                return validate(value)  # what the target auto field's get_db_prep_value does with an int
            return slow(obj)

        return foreign_key
    if isinstance(field, CharField | TextField) and _generic(
        cls, CharField if isinstance(field, CharField) else TextField
    ):
        # to_python returns any str (enum members included) unchanged; the backends do not adapt text.
        def text(obj: models.Model) -> Any:
            value = getattr(obj, attname)
            if value is None or isinstance(value, str):
                return value
            return slow(obj)

        return text
    if isinstance(field, BooleanField) and _generic(cls, BooleanField):

        def boolean(obj: models.Model) -> Any:
            value = getattr(obj, attname)
            if value is None or type(value) is bool:
                return value
            return slow(obj)

        return boolean
    if isinstance(field, IntegerField) and _generic(cls, IntegerField, to_python=False):
        adapt_integer = connection.ops.adapt_integerfield_value
        internal_type = field.get_internal_type()

        def integer(obj: models.Model) -> Any:
            value = getattr(obj, attname)
            if value is None:
                return None
            if type(value) is int:
                return adapt_integer(value, internal_type)  # after int(value), which is the value itself
            return slow(obj)

        return integer
    if isinstance(field, DateTimeField) and _generic(cls, DateTimeField) and settings.USE_TZ:
        adapt: Callable[[datetime], Any] = connection.ops.adapt_datetimefield_value
        if (
            type(connection.ops).adapt_datetimefield_value.__module__
            == "django.db.backends.sqlite3.operations"
        ):
            zone = connection.timezone

            def naive_text(value: datetime) -> Any:
                # SQLite's adaptation of an aware datetime: the text of its naive time in the connection's zone.
                return str(value.astimezone(zone).replace(tzinfo=None))

            adapt = naive_text

        def timestamp(obj: models.Model) -> Any:
            value = getattr(obj, attname)
            if value is None:
                return None
            if type(value) is datetime and value.utcoffset() is not None:
                return adapt(value)  # what get_db_prep_value does with an aware datetime
            return slow(obj)

        return timestamp
    return slow


def _generic(cls: type[Field[Any, Any]], base: type[Field[Any, Any]], *, to_python: bool = True) -> bool:
    """The field class prepares values exactly as ``base`` does (no override of the preparing methods)."""
    names = ["get_prep_value", "get_db_prep_value", "get_db_prep_save"] + (["to_python"] if to_python else [])
    return all(getattr(cls, name) is getattr(base, name) for name in names)
