from django.apps import AppConfig


class WorkplansConfig(AppConfig):
    name = "cityloop.workplans"
    label = "workplans"
    verbose_name = "工作要点督办"
