"""The open stage of each case, read from an index alone: the map's traffic lights (``/map/cases.json``).

The map's case layer gives each marker the light of its case's open stage, one probe per marker
(``web.selectors.map_case_points``). Through ``stage_case_open_idx (case_id, ended_at)`` each probe then read
the stage's row for its start, warning and due times and sorted them: at 10⁷ cases on PostgreSQL the whole
city's 48,692 markers cost 418 ms in the database, 22,891 of their pages read from disk. This partial index
holds the open stages only (a few per open case, not the 55 million stages of the year), ordered as the
probe takes them (latest first) and with the times the light needs: the same query, 173 ms, every probe an
index-only scan without a sort and nothing read from disk.

- PostgreSQL: ``(case_id, started_at, id) INCLUDE (warn_at, due_at, paused_at) WHERE ended_at IS NULL``;
- SQLite: the same with the times (and ``ended_at``, which SQLite wants in a covering index) as trailing key
  columns (no ``INCLUDE``). The condition has no bound value (``IS NULL``), so SQLite can use this partial
  index too.

SQL rather than ``Meta.indexes``, as in 0009: an ``include`` there would make Django warn on SQLite
(models.W040).
"""

from django.db import migrations

FORWARD = {
    "postgresql": "CREATE INDEX stage_open_case_idx ON cases_casestage (case_id, started_at, id) "
                  "INCLUDE (warn_at, due_at, paused_at) WHERE ended_at IS NULL",
    # SQLite counts an index as covering only when it holds every column the query names, the condition's too.
    "sqlite": "CREATE INDEX stage_open_case_idx ON cases_casestage (case_id, started_at, id, warn_at, due_at, "
              "paused_at, ended_at) WHERE ended_at IS NULL",
}


def forward(apps, schema_editor):
    sql = FORWARD.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor in FORWARD:
        schema_editor.execute("DROP INDEX IF EXISTS stage_open_case_idx")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0009_evaluation_covering_indexes"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
