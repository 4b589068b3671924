"""Background and periodic jobs of the tip line. They take ids only: a payload never carries a
tip's content or anything about its reporter (SECURITY 19)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from fengqiao.tips import services
from fengqiao.tips.models import Tip


@db_task()
def suggest_links(tip_id: int) -> int:
    """After intake: store the tip's possible repeats for the triager (idempotent)."""
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
