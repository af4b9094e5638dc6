"""Mounted at /evaluation/ (see config/urls.py)."""

from django.urls import path

from cityloop.evaluation import views

app_name = "evaluation"
urlpatterns = [
    path("", views.index, name="index"),
    path("cases/", views.drill_cases, name="cases"),
    path("export.xlsx", views.export, name="export"),
    path("negative/", views.negative, name="negative"),
    path("rework/", views.rework, name="rework"),
    path("quarterly/", views.quarterly, name="quarterly"),
    path("map.geojson", views.map_data, name="map"),
]
