"""Mounted at /evaluation/ (see config/urls.py)."""

app_name = "evaluation"
urlpatterns: list = []
