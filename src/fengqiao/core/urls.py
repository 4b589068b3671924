"""System administration pages of the core app: the audit viewer and the working-day calendar."""

from django.urls import path, re_path

from fengqiao.core import views

app_name = "core"

DAY = r"(?P<day>\d{4}-\d{2}-\d{2})"

urlpatterns = [
    path("audit/", views.audit_list, name="audit_list"),
    path("audit/verify/", views.audit_verify, name="audit_verify"),
    path("calendar/", views.calendar_list, name="calendar_list"),
    path("calendar/add/", views.calendar_add, name="calendar_add"),
    path("calendar/import/", views.calendar_import, name="calendar_import"),
    path("calendar/<int:year>/known/", views.calendar_year_known, name="calendar_year_known"),
    re_path(rf"^calendar/{DAY}/edit/$", views.calendar_edit, name="calendar_edit"),
    re_path(rf"^calendar/{DAY}/delete/$", views.calendar_delete, name="calendar_delete"),
]
