from django.urls import path, re_path

from fengqiao.regions import views

app_name = "regions"
urlpatterns = [
    path("", views.browser, name="browser"),
    # Statistical codes are 6 to 15 digits; anything else is not a region.
    re_path(r"^(?P<code>[0-9]{6,15})/$", views.detail, name="detail"),
]
