from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cityloop.cases"
    label = "cases"
    verbose_name = "案卷"
