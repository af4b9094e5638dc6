"""Drop indexes that cost every insert and serve no query.

- Single-column indexes whose column leads a composite index of the same table: the composite serves every
  query the single one did. Each case report and transition wrote all of them (``cases_case`` had 33 indexes
  on PostgreSQL).
- PostgreSQL's ``varchar_pattern_ops`` companions (``…_like``) that Django adds to indexed text columns, for
  ``LIKE 'abc%'``: nothing filters these columns with a pattern (case numbers are searched by range).

The fields' state says ``db_index=False``; the database side only drops (and, backwards, re-creates) the
indexes by name, so SQLite does not rebuild the case table (which would drop its full-text triggers).
"""

import django.db.models.deletion
from django.db import migrations, models

#: (index, table, column): each column leads a composite index (see the models' Meta.indexes).
COVERED = [
    ("cases_case_status_95787cb3", "cases_case", "status"),
    ("cases_case_category_id_c6dc5a5a", "cases_case", "category_id"),
    ("cases_case_department_id_c5b7309d", "cases_case", "department_id"),
    ("cases_case_district_id_60fa1ba0", "cases_case", "district_id"),
    ("cases_case_grid_id_af7609ce", "cases_case", "grid_id"),
    ("cases_caseevent_case_id_6c6031ac", "cases_caseevent", "case_id"),
    ("cases_caseevent_action_962ce64c", "cases_caseevent", "action"),
    ("cases_casestage_case_id_575d36d0", "cases_casestage", "case_id"),
]
#: PostgreSQL only: (index, table, column) with varchar_pattern_ops.
PATTERN_OPS = [
    ("cases_case_number_980c9551_like", "cases_case", "number"),
    ("cases_case_source_ad312c44_like", "cases_case", "source"),
    ("cases_case_status_95787cb3_like", "cases_case", "status"),
    ("cases_case_idempotency_key_44e58801_like", "cases_case", "idempotency_key"),
    ("cases_case_external_id_2446a410_like", "cases_case", "external_id"),
    ("cases_caseevent_action_962ce64c_like", "cases_caseevent", "action"),
]


def _indexes(schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    return [(name, table, column, "") for name, table, column in COVERED] + (
        [(name, table, column, " varchar_pattern_ops") for name, table, column in PATTERN_OPS] if postgres else []
    )


def drop(apps, schema_editor):
    quote = schema_editor.quote_name
    for name, _table, _column, _ops in _indexes(schema_editor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(name)}")


def create(apps, schema_editor):
    quote = schema_editor.quote_name
    for name, table, column, ops in _indexes(schema_editor):
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(table)} ({quote(column)}{ops})")


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0006_duplicate_index'),
        ('catalog', '0001_initial'),
        ('geo', '0002_gridsetversion'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop, create)],
            state_operations=[
                migrations.AlterField(
                    model_name='case',
                    name='category',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='catalog.category', verbose_name='分类'),
                ),
                migrations.AlterField(
                    model_name='case',
                    name='department',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='catalog.department', verbose_name='处置单位'),
                ),
                migrations.AlterField(
                    model_name='case',
                    name='district',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='geo.region', verbose_name='区县'),
                ),
                migrations.AlterField(
                    model_name='case',
                    name='grid',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='geo.grid', verbose_name='单元网格'),
                ),
                migrations.AlterField(
                    model_name='case',
                    name='status',
                    field=models.CharField(choices=[('reported', '已上报'), ('verifying', '核实中'), ('registered', '已立案'), ('dispatched', '处置中'), ('suspended', '挂账中'), ('handled', '已处置'), ('checking', '核查中'), ('closed', '已结案'), ('rejected', '不予立案'), ('merged', '已合并'), ('voided', '已作废')], max_length=20, verbose_name='状态'),
                ),
                migrations.AlterField(
                    model_name='caseevent',
                    name='action',
                    field=models.CharField(max_length=30, verbose_name='动作'),
                ),
                migrations.AlterField(
                    model_name='caseevent',
                    name='case',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='cases.case', verbose_name='案卷'),
                ),
                migrations.AlterField(
                    model_name='casestage',
                    name='case',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='stages', to='cases.case', verbose_name='案卷'),
                ),
            ],
        ),
    ]
