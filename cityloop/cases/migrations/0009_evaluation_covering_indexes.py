"""Covering indexes for the evaluation's counts (考评, ``cityloop.evaluation.selectors``).

The evaluation of a quarter counts, per unit, the cases reported in it (立案数, 结案数, 满意数 …: the
"cohort") and the handling stages started in it (应处置数, 按时处置数 …). Read through ``(reported_at, id)``
and ``(stage, started_at)`` every one of those rows was then fetched from its table: a quarter of a 10⁷-case
city is gigabytes of case and stage pages, more than the memory of a database server, so the evaluation grew
faster than the cases (BENCHMARKS.md, Scale, PostgreSQL 10⁶ → 10⁷: 0.94 s → 13.8 s).

With every column the counts read held in the index, the database answers them from the index alone
(PostgreSQL: an index-only scan, about a tenth of the pages: 319 instead of 1,609 buffers for the cases of a
quarter at 10⁵ cases, 348 instead of 3,705 for the stages; SQLite: a covering index).

- ``case_cohort_cover_idx``: a new index on ``reported_at`` with the cohort's columns (on PostgreSQL of the
  cohort's cases only). ``case_reported_order_idx`` stays as it is: the lists' deep pages walk it, and a wider
  index would make them walk more pages.
- ``stage_kind_time_idx``: the same leading columns ``(stage, started_at)``, now with the stage columns the
  counts read.

PostgreSQL carries the extra columns in ``INCLUDE``; SQLite has no ``INCLUDE``, so there they are trailing key
columns (its row id is in every index). The models' ``Meta.indexes`` keep describing the leading columns: an
``include`` there would make Django warn on every SQLite installation (models.W040), and SQL here keeps both
engines' tables as they are (SQLite does not rebuild the case table, so the full-text triggers of 0005 stay).
"""

from django.db import migrations

COHORT = ["status", "registered_at", "department_id", "district_id", "street_id", "community_id", "grid_id",
          "source", "satisfaction"]
#: The cohort's own condition (registered, not voided, ``indicators._registered_cohort``): on PostgreSQL the
#: index holds only those cases, so no query without that condition (a list ordered by ``reported_at``) can
#: choose it over ``case_reported_order_idx``. SQLite matches a partial index only to literal values and the
#: ORM binds parameters, so there the index holds every case.
COHORT_CONDITION = "registered_at IS NOT NULL AND status <> 'voided'"
STAGE = ["department_id", "actor_id", "outcome", "on_time", "ended_at", "due_at", "paused_at", "extended"]

FORWARD = {
    "postgresql": [
        f"CREATE INDEX case_cohort_cover_idx ON cases_case (reported_at) INCLUDE (id, {', '.join(COHORT)}) "
        f"WHERE {COHORT_CONDITION}",
        "DROP INDEX stage_kind_time_idx",
        f"CREATE INDEX stage_kind_time_idx ON cases_casestage (stage, started_at) INCLUDE (id, {', '.join(STAGE)})",
    ],
    "sqlite": [
        f"CREATE INDEX case_cohort_cover_idx ON cases_case (reported_at, {', '.join(COHORT)})",
        "DROP INDEX stage_kind_time_idx",
        f"CREATE INDEX stage_kind_time_idx ON cases_casestage (stage, started_at, {', '.join(STAGE)})",
    ],
}
BACKWARD = [
    "DROP INDEX IF EXISTS case_cohort_cover_idx",
    "DROP INDEX stage_kind_time_idx",
    "CREATE INDEX stage_kind_time_idx ON cases_casestage (stage, started_at)",
]


def forward(apps, schema_editor):
    for sql in FORWARD.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor in FORWARD:
        for sql in BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_open_case_position_index"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
