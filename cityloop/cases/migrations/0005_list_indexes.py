"""Indexes for the case lists at a megacity's size (bench/bench_scale.py, 10⁶ cases):

- ``(reported_at, id)``: the lists' order, so page 1 and deep pages walk one index (replaces ``reported_at``);
- ``CaseStage (department, case)``: a handler's scope read from the index alone;
- text search of description and address: a trigram index on each engine — PostgreSQL ``pg_trgm`` GIN
  indexes on the ``UPPER(…)`` expressions Django's ``icontains`` compares, SQLite an FTS5 table with the
  ``trigram`` tokenizer kept by triggers (``cityloop.cases.search``). Both serve terms of three characters
  or more; shorter terms scan.
"""

from django.db import migrations, models

PG_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX case_description_trgm_idx ON cases_case USING gin (UPPER((description)::text) gin_trgm_ops)",
    "CREATE INDEX case_address_trgm_idx ON cases_case USING gin (UPPER((address)::text) gin_trgm_ops)",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS case_description_trgm_idx",
    "DROP INDEX IF EXISTS case_address_trgm_idx",
]

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE cases_case_text USING fts5("
    "description, address, content='cases_case', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER cases_case_text_insert AFTER INSERT ON cases_case BEGIN "
    "INSERT INTO cases_case_text(rowid, description, address) VALUES (new.id, new.description, new.address); END",
    "CREATE TRIGGER cases_case_text_delete AFTER DELETE ON cases_case BEGIN "
    "INSERT INTO cases_case_text(cases_case_text, rowid, description, address) "
    "VALUES ('delete', old.id, old.description, old.address); END",
    "CREATE TRIGGER cases_case_text_update AFTER UPDATE OF description, address ON cases_case BEGIN "
    "INSERT INTO cases_case_text(cases_case_text, rowid, description, address) "
    "VALUES ('delete', old.id, old.description, old.address); "
    "INSERT INTO cases_case_text(rowid, description, address) VALUES (new.id, new.description, new.address); END",
    "INSERT INTO cases_case_text(cases_case_text) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS cases_case_text_insert",
    "DROP TRIGGER IF EXISTS cases_case_text_delete",
    "DROP TRIGGER IF EXISTS cases_case_text_update",
    "DROP TABLE IF EXISTS cases_case_text",
]


def text_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in PG_FORWARD if vendor == "postgresql" else SQLITE_FORWARD if vendor == "sqlite" else []:
        schema_editor.execute(sql)


def drop_text_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in PG_BACKWARD if vendor == "postgresql" else SQLITE_BACKWARD if vendor == "sqlite" else []:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0004_caseevent_action_time"),
    ]

    operations = [
        migrations.AlterField(
            model_name="case",
            name="reported_at",
            field=models.DateTimeField(verbose_name="上报时间"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["reported_at", "id"], name="case_reported_order_idx"),
        ),
        migrations.AddIndex(
            model_name="casestage",
            index=models.Index(fields=["department", "case"], name="stage_department_case_idx"),
        ),
        migrations.RunPython(text_index, drop_text_index),
    ]
