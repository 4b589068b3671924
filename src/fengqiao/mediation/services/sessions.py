"""Mediation sessions and their records (调解笔录)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.accounts.models import Membership, User
from fengqiao.cases.errors import WorkflowError
from fengqiao.core import audit
from fengqiao.mediation.models import Mediation, MediationSession
from fengqiao.mediation.services.steps import _check_actor, _lock, _require_open


@transaction.atomic
def record_session(
    mediation: Mediation,
    *,
    actor: User,
    membership: Membership,
    held_at: datetime,
    place: str,
    attendees: str,
    record: str,
) -> MediationSession:
    """Record a mediation session and its record (调解笔录)."""
    mediation = _lock(mediation)
    _check_actor(mediation.case, membership)
    _require_open(mediation)
    if held_at > timezone.now() + timedelta(minutes=5):
        raise WorkflowError(
            "session_in_future", _("A session is recorded after it was held."), field="held_at"
        )
    if held_at < mediation.started_at - timedelta(days=1):
        raise WorkflowError(
            "session_before_start",
            _("The session is dated before the mediation was registered."),
            field="held_at",
        )
    for name, value in (("place", place), ("attendees", attendees), ("record", record)):
        if not value.strip():
            raise WorkflowError("field_required", _("This field is required."), field=name)
    session = MediationSession.objects.create(
        mediation=mediation,
        held_at=held_at,
        place=place.strip(),
        attendees=attendees.strip(),
        record=record.strip(),
        recorded_by=actor,
    )
    audit.record(
        "mediation.session_recorded",
        actor=actor,
        membership=membership,
        obj=session,
        detail={"case": mediation.case.code},
    )
    return session
