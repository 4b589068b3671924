"""Filing a tip: anonymous (web, API) or on a reporter's behalf (operator mode)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.accounts.roles import Cap
from fengqiao.core import crypto, outbox
from fengqiao.core.validators import validate_id_number
from fengqiao.regions.models import Level, Region
from fengqiao.tips import attachments as files
from fengqiao.tips import policy, receipts, routing
from fengqiao.tips.errors import TipNotFound
from fengqiao.tips.models import (
    OPERATOR_CHANNELS,
    Accused,
    Action,
    Category,
    Channel,
    Tip,
)
from fengqiao.tips.services.rules import (
    MAX_ACCUSED,
    MAX_DESCRIPTION,
    MAX_SHORT,
    MAX_TEXT,
    clean_text,
    record_step,
    store_files,
)

if TYPE_CHECKING:
    from fengqiao.accounts.models import Membership


@dataclass(frozen=True)
class AccusedInput:
    """One accused person as the reporter described them; every field optional."""

    name: str = ""
    nickname: str = ""
    age: str = ""
    occupation: str = ""
    id_number: str = ""
    address: str = ""
    workplace: str = ""


@dataclass(frozen=True)
class Submission:
    """A filed tip and its receipt (display form, shown once and never stored)."""

    tip: Tip
    receipt: str


_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U


def _new_reference() -> str:
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _position in range(8))
    return f"XS-{chars[:4]}-{chars[4:]}"


def _accused_rows(tip: Tip, accused: Iterable[AccusedInput]) -> list[Accused]:
    rows = []
    items = list(accused)
    if len(items) > MAX_ACCUSED:
        raise ValidationError(
            {"accused": [_("At most %(count)d accused persons.") % {"count": MAX_ACCUSED}]}
        )
    for index, item in enumerate(items):
        values = {
            name: clean_text(
                getattr(item, name), field_name=f"accused[{index}].{name}", limit=MAX_SHORT
            )
            for name in (
                "name",
                "nickname",
                "age",
                "occupation",
                "id_number",
                "address",
                "workplace",
            )
        }
        if not any(values.values()):
            continue
        if values["id_number"]:
            try:
                validate_id_number(values["id_number"])
            except ValidationError as exc:
                raise ValidationError({f"accused[{index}].id_number": exc.messages}) from exc
            values["id_number"] = crypto.normalise(values["id_number"], "id_number")
        rows.append(Accused(tip=tip, **values))
    return rows


@transaction.atomic
def submit_tip(
    *,
    description: str,
    region_code: str,
    category: str = Category.OTHER,
    place_text: str = "",
    accused: Iterable[AccusedInput] = (),
    officials_involved: bool = False,
    officials_region_code: str = "",
    officials_text: str = "",
    is_real_name: bool = False,
    reporter_name: str = "",
    reporter_contact: str = "",
    attachments: Sequence[files.IncomingFile] = (),
    channel: str = Channel.WEB,
    operator: Membership | None = None,
) -> Submission:
    """File a tip and return it with its receipt.

    Anonymous intake (web form, API: ``operator`` None, channel web or api) or operator mode
    (``operator`` = the staff membership filing a phone, letter or walk-in tip on the reporter's
    behalf; needs ``tips.intake``). Either way the reporter gets a receipt, which is returned
    here once and stored nowhere. Nothing about the request (address, agent, cookies) is taken.
    """
    if operator is not None:
        if not operator.can(Cap.TIPS_INTAKE):
            raise TipNotFound
        if channel not in OPERATOR_CHANNELS:
            raise ValidationError({"channel": [_("Choose phone, letter or walk-in.")]})
    elif channel not in (Channel.WEB, Channel.API):
        raise ValidationError({"channel": [_("Choose phone, letter or walk-in.")]})
    description = clean_text(
        description, field_name="description", limit=MAX_DESCRIPTION, required=True
    )
    if category not in Category.values:
        raise ValidationError({"category": [_("Unknown category.")]})
    region = Region.objects.filter(code=(region_code or "").strip()).first()
    if region is None or region.level == Level.PROVINCE:
        raise ValidationError({"region_code": [_("Unknown region code.")]})
    place_text = clean_text(place_text, field_name="place_text", limit=MAX_SHORT)
    officials_text = clean_text(officials_text, field_name="officials_text", limit=MAX_TEXT)
    officials_involved = bool(officials_involved or officials_region_code or officials_text)
    officials_region = None
    if officials_involved:
        try:
            officials_region = routing.officials_region_for(region, officials_region_code.strip())
        except ValidationError as exc:
            raise ValidationError({"officials_region_code": exc.messages}) from exc
    try:
        route = routing.route_for(region, officials_region, officials_involved=officials_involved)
    except ValidationError as exc:
        key = "officials_region_code" if officials_involved else "region_code"
        raise ValidationError({key: exc.messages}, code=exc.code) from exc
    reporter_name = clean_text(reporter_name, field_name="reporter_name", limit=MAX_SHORT)
    reporter_contact = clean_text(reporter_contact, field_name="reporter_contact", limit=MAX_SHORT)
    if is_real_name and not reporter_name:
        raise ValidationError({"reporter_name": [_("A real-name report needs your name.")]})
    if not is_real_name and (reporter_name or reporter_contact):
        raise ValidationError(
            {
                "reporter_name": [
                    _("Leave your name and contact empty, or choose to report under your name.")
                ]
            }
        )

    receipt = receipts.new_receipt()
    digest = receipts.digest(receipt)
    while Tip.objects.filter(receipt_hmac=digest).exists():  # 10^20 receipts: never, in practice
        receipt = receipts.new_receipt()
        digest = receipts.digest(receipt)
    now = timezone.now()
    today = timezone.localdate(now)
    tip = Tip(
        reference=_new_reference(),
        receipt_hmac=digest,
        channel=channel,
        category=category,
        region=region,
        region_code=region.code,
        received_at=now,
        is_real_name=is_real_name,
        officials_involved=officials_involved,
        officials_region=officials_region if route.bypass_prefix else None,
        bypass_prefix=route.bypass_prefix,
        routed_unit=route.routed_unit,
        discipline_unit=route.discipline_unit,
        triage_by=policy.forward_by(today),
        verify_by=policy.verify_by(today),
    )
    tip.data_key = crypto.provider().new_data_key()
    tip.description = description
    tip.place_text = place_text
    tip.officials_text = officials_text
    tip.reporter_name = reporter_name
    tip.reporter_contact = reporter_contact
    while Tip.objects.filter(reference=tip.reference).exists():
        tip.reference = _new_reference()
    tip.save(force_insert=True)
    rows = _accused_rows(tip, accused)
    for row in rows:
        row.save(force_insert=True)
    stored = store_files(tip, attachments, now=now)
    record_step(
        tip,
        Action.SUBMIT,
        membership=operator,
        unit=route.routed_unit,
        detail={
            "channel": channel,
            "category": category,
            "operator_mode": operator is not None,
            "officials": officials_involved,
            "bypass": bool(route.bypass_prefix),
            "accused": len(rows),
            "attachments": stored,
        },
        audit_action="tips.received",
        now=now,
    )
    # Owed in this transaction: the suggestion run exists exactly when the tip does.
    outbox.enqueue("tips.suggest_links", key=str(tip.pk), tip_id=tip.pk)
    return Submission(tip=tip, receipt=receipts.display(receipt))
