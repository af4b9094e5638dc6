"""Bulk writes the ORM does slowly: many rows updated with one prepared statement (``executemany``).

Django's ``bulk_update`` builds one ``CASE WHEN`` expression per field over every row, which costs more
than the update itself once a batch has hundreds of rows and a dozen fields. ``bulk_save`` sends one
``UPDATE … SET f1 = %s, … WHERE id = %s`` and lets the driver execute it for every row: the same values,
prepared by each field exactly as ``Model.save`` prepares them.

``WriteBatch`` collects the rows a multi-step service creates and changes in memory and writes them
at the end with ``bulk_create`` and ``bulk_save``; it is how one case transition and a batch of
thousands share one implementation (see ``cityloop.cases.services.workflow``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections, models, router


def bulk_save(objects: Sequence[models.Model], fields: Iterable[str]) -> int:
    """Write ``fields`` of every (already saved) object in ``objects``; returns the number of rows sent."""
    if not objects:
        return 0
    model = type(objects[0])
    meta = model._meta
    wanted = set(fields)
    concrete = [f for f in meta.concrete_fields if (f.name in wanted or f.attname in wanted) and not f.primary_key]
    if not concrete:
        return 0
    alias = router.db_for_write(model)
    connection = connections[alias]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in concrete)
    pk = meta.pk
    assert pk is not None
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(pk.column)} = %s"
    params = [
        [f.get_db_prep_save(f.pre_save(obj, add=False), connection) for f in concrete]
        + [pk.get_db_prep_value(obj.pk, connection)]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(params)


def bulk_insert(objects: Sequence[models.Model]) -> int:
    """Insert ``objects`` with one prepared statement executed per row; their ids are not read back.

    For rows nobody refers to by id in the same transaction (events, closed stages, followers): about
    three times cheaper than ``bulk_create``, which builds one statement with every row's parameters.
    """
    if not objects:
        return 0
    model = type(objects[0])
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
    params = [[f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields] for obj in objects]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    for obj in objects:
        obj._state.adding = False
    return len(params)


class WriteBatch:
    """Rows created and changed in memory, written in bulk by :meth:`flush` (inside the caller's transaction).

    ``add`` schedules a new row; ``changed`` records fields of a saved row. A row that is still new when it
    changes needs nothing more: ``bulk_create`` writes its final state. Rows of one model are inserted in
    the order they were added, models in the order they first appeared, so parents go before children.
    """

    def __init__(self) -> None:
        self._new: dict[type[models.Model], list[models.Model]] = {}
        self._changed: dict[type[models.Model], dict[Any, tuple[models.Model, set[str]]]] = {}
        self._need_ids: set[type[models.Model]] = set()

    def add(self, obj: models.Model, *, need_id: bool = False) -> None:
        """Schedule a new row; ``need_id`` when the caller reads its id after the flush."""
        self._new.setdefault(type(obj), []).append(obj)
        if need_id:
            self._need_ids.add(type(obj))

    def changed(self, obj: models.Model, fields: Iterable[str]) -> None:
        if obj.pk is None:
            return
        rows = self._changed.setdefault(type(obj), {})
        entry = rows.get(obj.pk)
        if entry is None:
            rows[obj.pk] = (obj, set(fields))
        else:
            entry[1].update(fields)

    def merge(self, other: WriteBatch) -> None:
        """Take over ``other``'s rows (a step that succeeded joins the batch it was tried apart from)."""
        for model, rows in other._new.items():
            self._new.setdefault(model, []).extend(rows)
        self._need_ids |= other._need_ids
        for changed in other._changed.values():
            for obj, names in changed.values():
                self.changed(obj, names)

    def __bool__(self) -> bool:
        return bool(self._new) or bool(self._changed)

    def insert(self, rows: Sequence[models.Model]) -> None:
        """Write new rows whose ids are not read back (a subclass may write them more cheaply)."""
        bulk_insert(rows)

    def update(self, rows: Sequence[models.Model], field_names: list[str]) -> None:
        """Write ``field_names`` of changed rows (a subclass may write them more cheaply)."""
        bulk_save(rows, field_names)

    def flush(self) -> None:
        """Insert the new rows, then update the changed ones (grouped by the set of fields changed)."""
        for model, rows in self._new.items():
            if model in self._need_ids:
                model._default_manager.bulk_create(rows)
            else:
                self.insert(rows)
        for rows_by_pk in self._changed.values():
            by_fields: dict[frozenset[str], list[models.Model]] = {}
            for obj, names in rows_by_pk.values():
                by_fields.setdefault(frozenset(names), []).append(obj)
            for field_names, objects in by_fields.items():
                self.update(objects, sorted(field_names))
        self._new.clear()
        self._changed.clear()
        self._need_ids.clear()
