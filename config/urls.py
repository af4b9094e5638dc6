from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "CityLoop 城市运行管理服务平台"
admin.site.site_title = "CityLoop 管理"
admin.site.index_title = "基础数据管理"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("cityloop.web.urls")),
]
