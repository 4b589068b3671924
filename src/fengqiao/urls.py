"""Root URL configuration: each app mounts its own urls; the API lives under /api/v1/."""

from django.urls import include, path

from fengqiao.cases.urls import public_urlpatterns
from fengqiao.tips.urls import public_urlpatterns as tips_public_urlpatterns

# An outage surfacing outside a view (in a middleware) answers 503, not a bare 500.
handler500 = "fengqiao.core.views.server_error"

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("fengqiao.api.urls")),
    path("open311/", include("fengqiao.api.open311_urls")),
    path("system/open311/keys/", include("fengqiao.api.key_urls")),
    path("regions/", include("fengqiao.regions.urls")),
    path("mediation/", include("fengqiao.mediation.urls")),
    path("cases/", include("fengqiao.cases.urls")),
    # The anonymous tip line: its own prefix, which tips.middleware strips of every trace.
    path("tips/public/", include((tips_public_urlpatterns, "tips_public"))),
    path("tips/", include("fengqiao.tips.urls")),
    # Citizen pages (report, track): public, outside the staff prefix.
    path("", include((public_urlpatterns, "cases_public"))),
    path("system/", include("fengqiao.core.urls")),
    path("", include("fengqiao.accounts.urls")),
]
