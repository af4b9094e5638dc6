"""Mounted at /api/v1/ and /open311/v2/ (see config/urls.py)."""

api_urlpatterns: list = []
open311_urlpatterns: list = []
