"""Tip pages. Staff pages are mounted at ``tips/`` (namespace ``tips``); the reporter's pages are
``public_urlpatterns``, mounted at ``tips/public/`` (namespace ``tips_public``) by
``fengqiao/urls.py`` — the prefix ``tips.middleware`` strips of every identifying trace.

Tips are named by their public UUID, never by integer key; the receipt never appears in a URL.
"""

from django.urls import path

from fengqiao.tips.views import intake, public, statistics, work

app_name = "tips"
urlpatterns = [
    path("", work.tip_list, name="list"),
    path("intake/", intake.operator_intake, name="intake"),
    path("statistics/", statistics.statistics_page, name="statistics"),
    path("statistics/export.xlsx", statistics.statistics_export, name="statistics_export"),
    path("<uuid:tip_id>/", work.tip_detail, name="detail"),
    path("<uuid:tip_id>/act/", work.tip_act, name="act"),
    path("<uuid:tip_id>/messages/", work.send_message, name="message"),
    path("<uuid:tip_id>/notes/", work.add_note, name="note"),
    path("<uuid:tip_id>/cases/", work.link_case, name="link_case"),
    path("<uuid:tip_id>/files/<uuid:file_id>/", work.download, name="download"),
    path("<uuid:tip_id>/identity/request/", work.request_reveal, name="reveal_request"),
    path(
        "<uuid:tip_id>/identity/<uuid:reveal_id>/decide/", work.decide_reveal, name="reveal_decide"
    ),
    path("<uuid:tip_id>/identity/", work.reveal_identity, name="reveal_identity"),
]

public_urlpatterns = [
    path("", public.about, name="about"),
    path("report/", public.report, name="report"),
    path("report/regions/", public.region_options, name="regions"),
    path("lookup/", public.lookup, name="lookup"),
    path("lookup/reply/", public.reply, name="reply"),
    path("lookup/opinion/", public.opinion, name="opinion"),
]
