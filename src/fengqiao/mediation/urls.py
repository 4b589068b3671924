from django.urls import path

from fengqiao.mediation import views

app_name = "mediation"
urlpatterns = [
    path("visits/", views.visits_due, name="visits"),
    path("case/<str:case_code>/", views.detail, name="detail"),
    path("case/<str:case_code>/panel/", views.panel, name="panel"),
    path("case/<str:case_code>/start/", views.start, name="start"),
    path("case/<str:case_code>/session/", views.session_new, name="session_new"),
    path("case/<str:case_code>/agreement/", views.agreement_new, name="agreement_new"),
    path("case/<str:case_code>/agreement.pdf", views.agreement_pdf, name="agreement_pdf"),
    path("case/<str:case_code>/failure/", views.failure_new, name="failure_new"),
    path("case/<str:case_code>/termination.pdf", views.termination_pdf, name="termination_pdf"),
    path("case/<str:case_code>/visit/", views.visit_new, name="visit_new"),
    path("case/<str:case_code>/confirmation/", views.confirmation_apply, name="confirmation_apply"),
    path(
        "case/<str:case_code>/confirmation/decision/",
        views.confirmation_decide,
        name="confirmation_decide",
    ),
    path("case/<str:case_code>/violence-risk/", views.flag_violent, name="flag_violent"),
]
