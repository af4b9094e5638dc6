"""Only the admin, so the admin tests do not depend on the web app's views."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
