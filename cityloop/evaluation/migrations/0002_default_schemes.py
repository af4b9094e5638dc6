"""Seed the factory scoring schemes (配置项) from ``evaluation.defaults``; editable in the admin afterwards."""

from decimal import Decimal

from django.db import migrations


def seed(apps, schema_editor):
    from cityloop.evaluation.defaults import DEFAULT_SCHEMES

    Scheme = apps.get_model("evaluation", "ScoringScheme")
    Weight = apps.get_model("evaluation", "IndicatorWeight")
    Step = apps.get_model("evaluation", "StepScore")
    for kind, data in DEFAULT_SCHEMES.items():
        if Scheme.objects.filter(kind=kind).exists():
            continue
        scheme = Scheme.objects.create(kind=kind, name=data["name"], note=data["note"], is_default=True)
        for order, item in enumerate(data["weights"]):
            weight = Weight.objects.create(
                scheme=scheme, indicator=item["indicator"], weight=Decimal(str(item["weight"])), method=item["method"],
                monthly=bool(item.get("monthly", False)), order=order,
            )
            for klass, rules in item.get("steps", {}).items():
                for n, (comparison, bound, score) in enumerate(rules):
                    Step.objects.create(weight=weight, region_class=klass, order=n, comparison=comparison,
                                        bound=Decimal(str(bound)), score=Decimal(str(score)))


def unseed(apps, schema_editor):
    apps.get_model("evaluation", "ScoringScheme").objects.filter(is_default=True).delete()


class Migration(migrations.Migration):
    dependencies = [("evaluation", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
