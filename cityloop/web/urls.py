from django.contrib.auth import views as auth_views
from django.urls import path

from cityloop.web import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("map/regions.geojson", views.regions_geojson, name="regions-geojson"),
    path("", views.home, name="home"),
]
