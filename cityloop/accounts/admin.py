from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from cityloop.accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "role", "phone", "is_active", "last_login")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("username", "first_name", "last_name", "phone")
    autocomplete_fields = ("regions", "departments")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("岗位与范围", {"fields": ("role", "phone", "regions", "departments")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("岗位与范围", {"fields": ("role", "phone", "last_name", "first_name")}),
    )

    @admin.display(description="姓名")
    def display_name(self, obj: User) -> str:
        return obj.display_name
