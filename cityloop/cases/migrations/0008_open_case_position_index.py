"""The open cases by position, for the map's case layer (一张图, ``/map/cases.json``).

The layer asks for the open cases of the user's scope, the whole of it as the page loads and then one
viewport at a time. Read through ``case_status_time_idx`` they were found among all statuses' entries and
their rows fetched one by one from a table of the year's cases, so the layer grew faster than the cases
(BENCHMARKS.md, Scale, 10⁶ → 10⁷). This partial index holds the open cases only (a few percent of them),
ordered by longitude and latitude: a viewport is one range of it, and the whole layer is the whole index.

A plain ``CREATE INDEX … WHERE`` on both engines; SQLite does not rebuild the case table for it, so the
full-text triggers of migration 0005 stay.
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
