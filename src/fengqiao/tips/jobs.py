"""Background and periodic jobs of the tip line. They take ids only: a payload never carries a
tip's content or anything about its reporter (SECURITY 19)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from fengqiao.core import outbox
from fengqiao.tips import services
from fengqiao.tips.models import Tip


@outbox.handler("tips.suggest_links")
def suggest_links(tip_id: int) -> int:
    """After intake (an outbox job): store the tip's possible repeats for the triager. Idempotent:
    the suggestions are replaced, so a rerun after a killed worker leaves one set."""
    tip = Tip.objects.unscoped_all().filter(pk=tip_id).first()
    if tip is None or tip.data_key is None:
        return 0
    return services.refresh_link_suggestions(tip)


@db_periodic_task(crontab(minute="7"))
def sweep_overdue_tips() -> int:
    """Hourly: raise yellow and red cards on overdue tips and notify the supervising 扫黑办.
    Idempotent: cards are claimed with conditional UPDATEs, so reruns raise nothing twice."""
    result = services.sweep_overdue()
    return result.yellow + result.red
