"""Case pages. Staff pages are mounted at ``cases/`` (namespace ``cases``); the citizen pages
(``report/``, ``track/``) are ``public_urlpatterns``, mounted at the site root under the
namespace ``cases_public`` by ``fengqiao/urls.py``."""

from django.urls import path, re_path

from fengqiao.cases.views import files, imports, intake, public, taxonomy, work

# 一事一码: county code, date, sequence (cases.codes).
CASE_CODE = r"(?P<case_code>[0-9]{6}-[0-9]{8}-[0-9]{5,})"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

app_name = "cases"
urlpatterns = [
    path("", work.case_list, name="list"),
    path("queue/<slug:queue>/", work.queue, name="queue"),
    path("new/", intake.operator_intake, name="new"),
    path("new/grid/", intake.grid_intake, name="new_grid"),
    path("export.xlsx", work.export, name="export"),
    path("metrics/", work.metrics_view, name="metrics"),
    path("import/", imports.import_cases, name="import"),
    path("import/template.xlsx", imports.import_template, name="import_template"),
    # Taxonomy administration (system administrator). Category codes: dispute.neighbour.
    path("taxonomy/", taxonomy.category_list, name="taxonomy"),
    re_path(
        r"^taxonomy/categories/(?P<category_code>[a-z0-9_.]{1,60})/$",
        taxonomy.category_edit,
        name="taxonomy_category",
    ),
    re_path(
        r"^taxonomy/categories/(?P<category_code>[a-z0-9_.]{1,60})/rule/$",
        taxonomy.rule_edit,
        name="taxonomy_rule",
    ),
    path("taxonomy/clocks/", taxonomy.clock_list, name="taxonomy_clocks"),
    path("taxonomy/clocks/new/", taxonomy.clock_add, name="taxonomy_clock_add"),
    re_path(
        r"^taxonomy/clocks/(?P<policy_code>[a-z0-9_]{1,40})/$",
        taxonomy.clock_edit,
        name="taxonomy_clock_edit",
    ),
    re_path(rf"^{CASE_CODE}/$", work.case_detail, name="detail"),
    re_path(rf"^{CASE_CODE}/act/$", work.case_act, name="act"),
    re_path(rf"^{CASE_CODE}/notes/$", work.add_note, name="add_note"),
    re_path(rf"^{CASE_CODE}/attachments/$", files.upload, name="upload"),
    re_path(
        rf"^{CASE_CODE}/attachments/(?P<attachment_id>{UUID})/$",
        files.download,
        name="download",
    ),
    re_path(
        rf"^{CASE_CODE}/parties/(?P<party_id>{UUID})/reveal/$",
        work.reveal,
        name="reveal",
    ),
]

public_urlpatterns = [
    path("report/", public.report, name="report"),
    path("report/regions/", public.region_options, name="regions"),
    path("track/", public.track_lookup, name="lookup"),
    re_path(
        r"^track/(?P<code>[0-9]{6}-[0-9]{8}-[0-9]{5,})/(?P<token>[A-Za-z0-9_-]{16,64})/$",
        public.track,
        name="track",
    ),
]
