from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "fengqiao.api"
    label = "api"

    def ready(self) -> None:
        from fengqiao.accounts.navigation import register_nav_item
        from fengqiao.accounts.roles import Cap

        register_nav_item(
            "open311_keys:list", label=_("Open311 keys"), capability=Cap.OPEN311_KEYS, order=75
        )
