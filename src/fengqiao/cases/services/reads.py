"""Reads with rules: the actions a membership may take now, the citizen's tracking token,
other cases sharing a party, and audited reveals of a party's sealed fields."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from fengqiao.accounts.roles import Cap
from fengqiao.cases import codes
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import TRANSITIONS, Action, Case, CaseKind, Party, can
from fengqiao.cases.services.steps import _visible, _who_may
from fengqiao.core import audit

if TYPE_CHECKING:
    from fengqiao.accounts.models import Membership, User

REVEALABLE_FIELDS = ("name", "id_number", "phone", "address")


# --- reads with rules ---------------------------------------------------------------------------


def available_actions(case: Case, membership: Membership | None) -> list[str]:
    """The actions this membership may take on the case now (pages show only these buttons)."""
    if membership is None:
        return []
    actions = []
    for action in TRANSITIONS:
        if action in (Action.CARD, Action.ARCHIVE, Action.CLOSE):
            continue  # the clock's, and not offered by hand
        if not can(action, case.status):
            continue
        if action == Action.RISK_FLAG and case.kind != CaseKind.DISPUTE:
            continue
        if _who_may(action, case, membership):
            actions.append(str(action))
    return actions


def check_tracking_token(case: Case, token: str) -> bool:
    """Whether ``token`` is this case's tracking token (constant-time)."""
    return codes.tracking_token_matches(case.tracking_token_hash, token or "")


def same_party_cases(case: Case, *, membership: Membership | None) -> QuerySet[Case]:
    """Other open cases this membership may see that share a party's ID number or phone
    (blind-index match, nothing decrypted)."""
    indexes = Party.objects.filter(case=case).values_list("id_number_index", "phone_index")
    id_indexes = {id_index for id_index, _phone in indexes if id_index}
    phone_indexes = {phone for _id, phone in indexes if phone}
    if not id_indexes and not phone_indexes:
        return Case.objects.none()
    match = Q()
    if id_indexes:
        match |= Q(id_number_index__in=id_indexes)
    if phone_indexes:
        match |= Q(phone_index__in=phone_indexes)
    # A semi-join on the matching parties' cases: a join through ``parties`` needs DISTINCT over
    # every selected column, which cost PostgreSQL ≈ 11 ms to plan on each case page.
    return (
        Case.objects.visible_to(membership)
        .open()
        .exclude(pk=case.pk)
        .filter(pk__in=Party.objects.filter(match).values("case_id"))
        .order_by("-reported_at", "-id")
    )


def reveal_party_field(
    party: Party, *, actor: User | None, membership: Membership | None, field: str
) -> str:
    """The unmasked value of one field, for roles that may reveal it; every reveal is audited,
    and so is every refusal (not atomic on purpose: the refusal's audit event must stay)."""
    if field not in REVEALABLE_FIELDS:
        raise WorkflowError("invalid_field", _("This field cannot be revealed."), field="field")
    case = party.case
    if not (_visible(case, membership) and membership.can(Cap.CASES_REVEAL)):
        audit.record(
            "cases.reveal_party_field",
            actor=actor,
            membership=membership,
            obj=case,
            outcome="denied",
            detail={"party": str(party.public_id), "field": field},
        )
        raise WorkflowError("not_allowed", _("Your role cannot see this information."))
    value = getattr(party, field) or ""
    audit.record(
        "cases.reveal_party_field",
        actor=actor,
        membership=membership,
        obj=case,
        detail={"code": case.code, "party": str(party.public_id), "field": field},
    )
    return value
