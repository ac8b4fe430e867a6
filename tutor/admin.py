from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from tutor.models import Classroom, Enrollment, Organisation, User


@admin.register(User)
class TutorUserAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "organisation", "is_active")
    list_filter = ("role", "organisation", "is_active")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Tutor", {"fields": ("role", "organisation")}))


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    prepopulated_fields = {"slug": ("name",)}


class EnrollmentInline(admin.TabularInline):
    model = Enrollment
    extra = 0
    raw_id_fields = ("student",)


@admin.register(Classroom)
class ClassroomAdmin(admin.ModelAdmin):
    list_display = ("name", "teacher", "organisation", "join_code", "archived_at")
    list_filter = ("organisation",)
    raw_id_fields = ("teacher",)
    inlines = [EnrollmentInline]
