from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "cityloop.web"
    label = "web"
    verbose_name = "页面"
