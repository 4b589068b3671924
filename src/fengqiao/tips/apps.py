from django.apps import AppConfig


class TipsConfig(AppConfig):
    name = "fengqiao.tips"
    label = "tips"

    def ready(self) -> None:
        register_menu_and_queues()


def register_menu_and_queues() -> None:
    """Menu entries and workbench queues of the tip line; counts never read tip content."""
    from django.utils.translation import gettext_lazy as _

    from fengqiao.accounts import workbench
    from fengqiao.accounts.navigation import register_nav_item
    from fengqiao.accounts.roles import Cap
    from fengqiao.tips.models import Tip

    register_nav_item("tips:list", label=_("Tips"), capability=Cap.TIPS_HANDLE, order=40)
    register_nav_item(
        "tips:statistics", label=_("Tip statistics"), capability=Cap.TIPS_STATS, order=41
    )
    workbench.register_queue(
        "tips_to_triage",
        label=_("Tips to triage"),
        order=80,
        count=lambda m: Tip.objects.visible_to(m).to_triage_by(m.unit),
        url_name="tips:list",
        capability=Cap.TIPS_HANDLE,
    )
    workbench.register_queue(
        "tips_in_hand",
        label=_("Tips to verify and dispose"),
        order=81,
        count=lambda m: Tip.objects.visible_to(m).handled_by(m.unit),
        url_name="tips:list",
        capability=Cap.TIPS_HANDLE,
    )
