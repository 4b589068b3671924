from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "fengqiao.core"
    label = "core"

    def ready(self) -> None:
        from fengqiao.core import checks  # noqa: F401  (registers system checks)
        from fengqiao.core import signals  # noqa: F401  (SQLite connection pragmas)
