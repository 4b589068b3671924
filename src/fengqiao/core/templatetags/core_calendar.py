"""``{% calendar_warning %}``: the unknown-holiday-schedule warning, for calendar managers only."""

from __future__ import annotations

from django import template
from django.urls import reverse

from fengqiao.accounts.roles import Cap
from fengqiao.core import workdays

register = template.Library()


@register.inclusion_tag("core/_calendar_warning.html", takes_context=True)
def calendar_warning(context) -> dict:
    request = context.get("request")
    membership = getattr(request, "membership", None)
    if membership is None or not membership.can(Cap.CALENDAR_MANAGE):
        return {"calendar_warning": None}
    warning = workdays.calendar_warning()
    if warning is not None:
        warning = {**warning, "manage_url": reverse("core:calendar_list")}
    return {"calendar_warning": warning}
