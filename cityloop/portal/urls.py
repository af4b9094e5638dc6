"""Mounted at /m/ (inspector's phone pages) and /public/ (citizen portal), see config/urls.py.

Names live in the namespaces ``portal_m`` and ``portal_public`` (e.g. ``reverse("portal_m:report")``).
"""

from django.urls import include, path, re_path

from cityloop.portal.views import common, inspector, public

_inspector = [
    path("", inspector.home, name="home"),
    path("report/", inspector.report, name="report"),
    path("report/done/", inspector.report_done, name="report-done"),
    path("categories.json", inspector.categories_json, name="categories"),
    path("tasks/", inspector.tasks, name="tasks"),
    path("mine/", inspector.mine, name="mine"),
    path("cases/<int:pk>/", inspector.case_detail, name="case"),
    path("cases/<int:pk>/verify/", inspector.verify, name="verify"),
    path("cases/<int:pk>/check/", inspector.check, name="check"),
]

_public = [
    path("", public.report, name="report"),
    path("done/", public.report_done, name="report-done"),
    path("categories.json", public.categories_json, name="categories"),
    path("track/", public.track, name="track"),
    path("track/rate/", public.rate, name="rate"),
    path("map/", public.public_map, name="map"),
    path("map.json", public.public_map_json, name="map-json"),
    path("layers/regions.geojson", common.regions_geojson, name="regions"),
    path("layers/grids.geojson", common.grids_geojson, name="grids"),
    re_path(r"^photos/(?P<path>.+)$", common.public_photo, name="photo"),
]

inspector_urlpatterns: list = [path("", include((_inspector, "portal_m")))]
public_urlpatterns: list = [path("", include((_public, "portal_public")))]
