from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "fengqiao.cases"
    label = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from fengqiao.cases import routing

        routing._connect_invalidation()
        register_queues()
        register_menu()


def register_menu() -> None:
    """Menu entries of the case pages, each shown to the roles whose capability opens it."""
    from fengqiao.accounts.navigation import register_nav_item
    from fengqiao.accounts.roles import Cap

    register_nav_item("cases:list", label=_("Cases"), capability=Cap.CASES_VIEW, order=12)
    register_nav_item("cases:new", label=_("Report a case"), capability=Cap.CASES_REPORT, order=13)
    register_nav_item(
        "cases:import", label=_("Import cases"), capability=Cap.CASES_REPORT, order=14
    )
    register_nav_item(
        "cases:metrics", label=_("Case statistics"), capability=Cap.CASES_METRICS, order=16
    )
    register_nav_item(
        "cases:taxonomy", label=_("Categories and rules"), capability=Cap.TAXONOMY_MANAGE, order=65
    )


def register_queues() -> None:
    """The case queues of the workbench: each gives the rows of the membership's own unit, read
    off the unit's queue indexes (``case_owner_queue`` / ``case_handler_queue``); the workbench
    counts them all in one statement."""
    from fengqiao.accounts import workbench
    from fengqiao.accounts.roles import Cap
    from fengqiao.cases.models import Case

    counts = {
        workbench.TO_ACCEPT: lambda m: Case.objects.to_accept(m.unit_id),
        "to_assign": lambda m: Case.objects.to_assign(m.unit_id),
        workbench.TO_SIGN: lambda m: Case.objects.to_sign(m.unit_id),
        workbench.IN_PROGRESS: lambda m: Case.objects.in_progress(m.unit_id),
        workbench.DUE_SOON: lambda m: Case.objects.due_soon_for(m.unit_id),
        workbench.OVERDUE: lambda m: Case.objects.overdue_for(m.unit_id),
        workbench.TO_VERIFY: lambda m: Case.objects.to_verify(m.unit_id),
        workbench.TO_VISIT: lambda m: Case.objects.to_visit(m.unit_id),
    }
    for key, count in counts.items():
        extra = {"label": _("To assign"), "order": 15} if key == "to_assign" else {}
        workbench.register_queue(
            key,
            count=count,
            url_name="cases:queue",
            url_kwargs={"queue": key.replace("_", "-")},
            capability=Cap.CASES_HANDLE,
            **extra,
        )
