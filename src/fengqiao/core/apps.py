from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CoreConfig(AppConfig):
    name = "fengqiao.core"
    label = "core"

    def ready(self) -> None:
        from fengqiao.core import checks, signals  # noqa: F401  (system checks, SQLite pragmas)

        # Jobs live in each app's jobs.py (STYLE 1); Huey's consumer only looks for tasks.py,
        # so register them here, in web and worker processes alike.
        autodiscover_modules("jobs")

        from django.db import connections

        if connections["default"].vendor == "postgresql":
            from fengqiao.core import postgresql

            postgresql.cache_longer_statements()
