"""Open311 GeoReport v2, mounted at /open311/. Every path under it answers a GeoReport document."""

from django.urls import re_path

from fengqiao.api import open311

app_name = "open311"

FMT = r"\.(?P<fmt>xml|json)$"

urlpatterns = [
    re_path(rf"^v2/discovery{FMT}", open311.discovery, name="discovery"),
    re_path(rf"^v2/services{FMT}", open311.service_list, name="services"),
    re_path(
        rf"^v2/services/(?P<service_code>[^/]+){FMT}",
        open311.service_definition,
        name="service_definition",
    ),
    re_path(rf"^v2/requests{FMT}", open311.requests_view, name="requests"),
    re_path(
        rf"^v2/requests/(?P<service_request_id>[^/]+){FMT}",
        open311.request_detail,
        name="request",
    ),
    re_path(rf"^v2/tokens/(?P<token>[^/]+){FMT}", open311.token_detail, name="token"),
    # Last: anything else under /open311/ is a 404 error document, not Django's HTML page. Any
    # character, newlines too: a path may carry an encoded one (%0A), which "." would not match.
    re_path(r"^(?P<rest>[\s\S]*)$", open311.not_found, name="not_found"),
]
