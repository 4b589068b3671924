from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediationConfig(AppConfig):
    name = "fengqiao.mediation"
    label = "mediation"
    verbose_name = _("People's mediation")

    def ready(self) -> None:
        register_queues()


def register_queues() -> None:
    """The workbench queue of follow-up visits (回访) due on agreements of the unit's cases."""
    from fengqiao.accounts import workbench
    from fengqiao.accounts.roles import Cap
    from fengqiao.mediation.models import FollowUpVisit

    workbench.register_queue(
        "mediation_visits",
        label=_("Mediation follow-up visits due"),
        order=75,
        count=lambda m: FollowUpVisit.objects.visible_to(m).due().for_unit(m.unit_id),
        url_name="mediation:visits",
        capability=Cap.CASES_HANDLE,
    )
