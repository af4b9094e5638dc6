"""Mounted at /m/ (inspector's phone pages) and /public/ (citizen portal), see config/urls.py."""

inspector_urlpatterns: list = []
public_urlpatterns: list = []
