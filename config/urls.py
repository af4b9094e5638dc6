from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from cityloop.api.urls import api_urlpatterns, open311_urlpatterns
from cityloop.portal.urls import inspector_urlpatterns, public_urlpatterns

admin.site.site_header = "CityLoop 城市运行管理服务平台"
admin.site.site_title = "CityLoop 管理"
admin.site.index_title = "基础数据管理"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    # Every user can change their own password (the validators of settings apply).
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("api/v1/", include(api_urlpatterns)),
    path("open311/v2/", include(open311_urlpatterns)),
    path("m/", include(inspector_urlpatterns)),
    path("public/", include(public_urlpatterns)),
    path("evaluation/", include("cityloop.evaluation.urls")),
    path("plans/", include("cityloop.workplans.urls")),
    path("", include("cityloop.web.urls")),
]
