"""The open cases by position, for the map's case layer (一张图, ``/map/cases.json``).

The layer asks for the open cases of the user's scope, the whole of it as the page loads and then one
viewport at a time. Through ``case_status_time_idx`` a viewport read every open case of the city and kept
those in view (EXPLAIN ANALYZE at 10⁶ cases on PostgreSQL: 4,461 open cases read, 4,422 thrown away, for 39
markers; at 10⁷ the viewport page took 280 ms, BENCHMARKS.md). This partial index holds the open cases only
(0.45 % of a year's cases), ordered by longitude and latitude: a viewport is one range of it (0.4 ms instead
of 2.2 ms at 10⁶). The whole layer is every open case either way.

A plain ``CREATE INDEX … WHERE status IN (…)`` on both engines; SQLite does not rebuild the case table for
it, so the full-text triggers of migration 0005 stay. SQLite uses a partial index only for a query that
spells its condition with the same literals, and the ORM binds the statuses as parameters, so there the
index is kept (one schema on both engines) but not read.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0007_drop_redundant_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("status__in", ["checking", "dispatched", "handled", "registered", "reported",
                                                   "suspended", "verifying"])),
                fields=["lon", "lat"],
                name="case_open_position_idx",
            ),
        ),
    ]
