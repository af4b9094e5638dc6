"""Mounted at /plans/ (see config/urls.py)."""

app_name = "workplans"
urlpatterns: list = []
