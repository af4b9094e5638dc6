from django.apps import AppConfig


class AssetsConfig(AppConfig):
    name = "cityloop.assets"
    label = "assets"
    verbose_name = "部件"
