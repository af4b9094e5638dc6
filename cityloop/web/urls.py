from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path

from cityloop.cases.photos import PUBLIC_DIR
from cityloop.web.views import case_page, cases, maps, media, notifications, workbench

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", workbench.home, name="home"),
    path("cases/", cases.case_list, name="case-list"),
    path("cases/export.xlsx", cases.case_export, name="case-export"),
    path("cases/bulk-dispatch/", cases.bulk_dispatch, name="case-bulk-dispatch"),
    path("cases/<int:pk>/", case_page.case_detail, name="case-detail"),
    path("cases/<int:pk>/act/<str:action>/", case_page.case_action, name="case-action"),
    path("map/", maps.map_page, name="map"),
    path("map/regions.geojson", maps.regions_geojson, name="regions-geojson"),
    path("map/grids.geojson", maps.grids_geojson, name="grids-geojson"),
    path("map/cases.json", maps.map_cases, name="map-cases"),
    path("map/grid-counts.geojson", maps.map_grid_counts, name="map-grid-counts"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read/", notifications.notification_read, name="notifications-read"),
    path("notifications/<int:pk>/open/", notifications.notification_open, name="notification-open"),
]

# Public photo variants only (never originals), at the URL default_storage.url() gives them.
if not settings.MEDIA_URL.startswith(("http://", "https://", "//")):
    _media = settings.MEDIA_URL.strip("/")
    _prefix = f"{_media}/{PUBLIC_DIR}/" if _media else f"{PUBLIC_DIR}/"
    urlpatterns.append(path(f"{_prefix}<path:path>", media.public_photo, name="public-photo"))
