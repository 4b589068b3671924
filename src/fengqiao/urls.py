"""Root URL configuration: each app mounts its own urls; the API lives under /api/v1/."""

from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("fengqiao.api.urls")),
    path("regions/", include("fengqiao.regions.urls")),
    path("system/", include("fengqiao.core.urls")),
    path("", include("fengqiao.accounts.urls")),
]
