from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "cityloop.catalog"
    label = "catalog"
    verbose_name = "分类与部门"
