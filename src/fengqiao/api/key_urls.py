"""Operator pages for Open311 client keys, mounted at /system/open311/keys/."""

from django.urls import path

from fengqiao.api import views

app_name = "open311_keys"

urlpatterns = [
    path("", views.key_list, name="list"),
    path("new/", views.key_create, name="create"),
    path("<str:prefix>/revoke/", views.key_revoke, name="revoke"),
]
