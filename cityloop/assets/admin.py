from django.contrib import admin

from cityloop.assets.models import Asset


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "category", "maintainer", "status", "grid")
    list_filter = ("status", "category__parent")
    search_fields = ("code", "name")
    autocomplete_fields = ("category", "grid", "authority", "owner", "maintainer")
    list_select_related = ("category", "maintainer", "grid")
