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

#: table → the columns that lead a composite index of that table (see the models' Meta.indexes).
COVERED = {
    "cases_case": ["status", "category_id", "department_id", "district_id", "grid_id"],
    "cases_caseevent": ["case_id", "action"],
    "cases_casestage": ["case_id"],
}
#: PostgreSQL only: table → the text columns whose varchar_pattern_ops companion ("…_like") no query uses.
PATTERN_OPS = {
    "cases_case": ["number", "source", "status", "idempotency_key", "external_id"],
    "cases_caseevent": ["action"],
}


def _indexes(schema_editor):
    """(name, table, column, operator class) of each index, named as Django named it when it made it."""
    name = schema_editor._create_index_name
    found = [(name(table, [column]), table, column, "") for table, columns in COVERED.items() for column in columns]
    if schema_editor.connection.vendor == "postgresql":
        found += [(name(table, [column], suffix="_like"), table, column, " varchar_pattern_ops")
                  for table, columns in PATTERN_OPS.items() for column in columns]
    return found


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
