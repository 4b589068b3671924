"""Objects for the object-level permission matrix (SECURITY 7), built once per test module.

Six places, from 枫源村's first grid outwards: its sibling grid, another village of 枫桥镇, a
village of 店口镇, a village of 越城区 and 杭州市 (outside Shaoxing, so even the city-wide personas
have somewhere they may not look). Every place holds the same objects: a dispute with parties, a
file and a written mediation agreement; a dispute whose mediation was terminated; an Open311 key;
a unit. A persona's *inside* object is the one at the nearest place in its region, its *outside*
object the one at the nearest place beyond it, so "outside" is a neighbour rather than a far
city wherever the persona's scope allows.

Tips are need-to-know, not regional: five real-name tips (each with a file, a pending reveal
request and the same accused, so each is a repeat candidate of all others) are routed so that
each tip-handling persona has one it was given and one of its own county it was not.

Who may see what is written out here from the rules (region prefix; the tip routing table),
never read back from the product's querysets, so the matrix checks the product against the rule.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from fengqiao.accounts import notifications
from fengqiao.accounts import services as account_services
from fengqiao.accounts.models import Membership, User
from fengqiao.accounts.roles import Role
from fengqiao.api import services as key_services
from fengqiao.cases import services as case_services
from fengqiao.cases.models import Case, Category, Channel, PartyRole
from fengqiao.core.validators import id_number_check_char
from fengqiao.mediation import services as mediation_services
from fengqiao.mediation.models import AgreementForm, StartedHow
from fengqiao.regions.models import Level, Region, Unit, UnitKind
from fengqiao.tips import services as tip_services
from fengqiao.tips.attachments import IncomingFile
from fengqiao.tips.models import LinkSuggestion, Tip
from personas import (
    DIANKOU_TOWN,
    FENGQIAO_TOWN,
    FENGYUAN_GRID_1,
    FENGYUAN_VILLAGE,
    PERSONA_NAMES,
    SHAOXING,
    YUECHENG,
    ZHUJI,
    Persona,
    make_named_persona,
)

HANGZHOU = "330100"
SAMPLE_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

# Nearest first. A persona's inside place is the first of INSIDE_ORDER in its region; its outside
# place the first of OUTSIDE_ORDER beyond it.
PLACES = ("grid1", "grid2", "village2", "diankou", "yuecheng", "hangzhou")
INSIDE_ORDER = ("grid1", "diankou", "yuecheng")
OUTSIDE_ORDER = ("grid2", "village2", "diankou", "yuecheng", "hangzhou")

# The tip routing rule, written out: which standard personas' units see each tip, and each tip
# persona's inside and outside tip (both about places in its own county).
TIP_READERS = {
    "t_police": {"police_fengqiao", "anti_gang_zhuji"},
    "t_discipline": {"anti_gang_zhuji", "discipline_zhuji"},
    "t_diankou": {"anti_gang_zhuji", "discipline_zhuji"},
    "t_city": set(),
    "t_yuecheng": set(),
}
TIP_INSIDE = {"police_fengqiao": "t_police", "anti_gang_zhuji": "t_police"}
TIP_INSIDE["discipline_zhuji"] = "t_discipline"
# Another tip the persona sees, for a merge that the lookup (not a missing target) decides.
MERGE_INTO = {"anti_gang_zhuji": "t_discipline", "discipline_zhuji": "t_diankou"}
TIP_OUTSIDE = {
    # Same village, routed to the 扫黑办 and the 纪委监委 but never assigned to the station.
    "police_fengqiao": "t_discipline",
    # Same county, but it names the county's officials, so it went to the city (bypass).
    "anti_gang_zhuji": "t_city",
    # Same county, nobody named officials, so the 纪委监委 was not routed beside it.
    "discipline_zhuji": "t_police",
}


def _id_number(first17: str) -> str:
    return first17 + id_number_check_char(first17)


@dataclass
class Place:
    key: str
    region: Region
    unit: Unit
    case: Case | None = None  # a dispute: parties, a file, a written agreement
    terminated: Case | None = None  # a dispute whose mediation ended without agreement
    tracking_token: str = ""
    attachment: Any = None
    party: Any = None
    key_prefix: str = ""
    key_name: str = ""

    @property
    def code(self) -> str:
        return self.region.code


@dataclass
class SampleTip:
    tip: Tip
    file: Any
    reveal: Any


@dataclass
class World:
    personas: dict[str, Persona]
    places: dict[str, Place]
    tips: dict[str, SampleTip]
    hazard: Case  # a public-space case: what Open311 may show anyone
    notices: dict[int, Any]  # unit pk → the notice sent to that unit
    tokens: dict[str, str]  # persona name (and "near_user") → API token prefix
    api_clients: dict[str, Client]  # persona name → a client sending the persona's API token
    near_user: User
    far_user: User
    near_membership: Membership
    far_membership: Membership
    sessions: dict[int, int]  # user pk → the pk of one of their login sessions

    # --- what a persona may see, from the rules ------------------------------------------------

    def prefix(self, persona: Persona) -> str:
        return persona.membership.scope_prefix

    def inside_place(self, persona: Persona) -> Place:
        prefix = self.prefix(persona)
        for key in INSIDE_ORDER:
            if self.places[key].code.startswith(prefix):
                return self.places[key]
        return self.places["grid1"]  # nothing of theirs anywhere: their role decides alone

    def outside_place(self, persona: Persona) -> Place:
        prefix = self.prefix(persona)
        for key in OUTSIDE_ORDER:
            if not self.places[key].code.startswith(prefix):
                return self.places[key]
        raise AssertionError(f"no place outside {prefix}")

    def inside_tip(self, name: str) -> SampleTip:
        return self.tips[TIP_INSIDE.get(name, "t_police")]

    def merge_target(self, name: str) -> SampleTip:
        return self.tips[MERGE_INTO.get(name, TIP_INSIDE.get(name, "t_police"))]

    def outside_tip(self, name: str) -> SampleTip:
        return self.tips[TIP_OUTSIDE.get(name, "t_city")]

    def notice_inside(self, persona: Persona) -> Any:
        return self.notices[persona.unit.pk]

    def notice_outside(self, persona: Persona) -> Any:
        # Another persona's unit: the nearest neighbour in the persona list.
        for other in self.personas.values():
            if other.unit.pk != persona.unit.pk:
                return self.notices[other.unit.pk]
        raise AssertionError("one unit only")

    def forbidden(self, name: str) -> dict[str, str]:
        """Identifiers (→ what they name) that must appear in nothing this persona is shown."""
        persona = self.personas[name]
        prefix = self.prefix(persona)
        found: dict[str, str] = {}
        if not self.hazard.region_code.startswith(prefix):
            found[self.hazard.code] = "the public-space case"
        for place in self.places.values():
            if place.code.startswith(prefix):
                continue
            for case in (place.case, place.terminated):
                found[case.code] = f"case {case.code} ({place.key})"
                found[str(case.public_id)] = f"case id of {case.code}"
            found[str(place.attachment.public_id)] = f"file of {place.case.code}"
            found[place.key_prefix] = f"Open311 key of {place.key}"
            found[place.key_name] = f"Open311 key name of {place.key}"
        for key, sample in self.tips.items():
            if name in TIP_READERS[key]:
                continue
            found[str(sample.tip.public_id)] = f"tip {key}"
            found[sample.tip.reference] = f"tip reference of {key}"
            found[str(sample.file.public_id)] = f"file of tip {key}"
            if sample.reveal is not None:
                found[str(sample.reveal.public_id)] = f"reveal request on {key}"
        for unit_pk, notice in self.notices.items():
            if unit_pk != persona.unit.pk:
                found[str(notice.public_id)] = f"notice to unit {unit_pk}"
                found[notice.title] = f"notice title to unit {unit_pk}"
        for owner, prefix_ in self.tokens.items():
            if owner != name:
                found[prefix_] = f"API token of {owner}"
        if not self.far_membership.region_code.startswith(prefix):
            found[str(self.far_user.public_id)] = "user outside the region"
            found[self.far_user.username] = "user name outside the region"
        return found


def _clerk(unit: Unit, role: str, clerks: dict[tuple[int, str], Membership]) -> Membership:
    """A member of ``unit`` who does the set-up work there (no login needed)."""
    key = (unit.pk, role)
    if key not in clerks:
        user = User.objects.create_user(
            username=f"matrix_clerk_{unit.pk}_{role}", password=None, full_name="书记员"
        )
        clerks[key] = Membership.objects.create(
            user=user, unit=unit, role=role, region_code=unit.region_code
        )
    return clerks[key]


def _dispute(place: Place, serial: int, *, outcome: str, clerks: dict) -> Case:
    """A neighbour dispute at the place, accepted and mediated by its owner unit."""
    category = Category.objects.get(code="dispute.neighbour")
    case = case_services.report_case(
        data=case_services.IntakeData(
            category=category,
            channel=Channel.WALK_IN,
            title=f"矩阵样例{place.key}{serial}",
            description="权限矩阵的样例纠纷。",
            region_code=place.code,
            parties=[
                case_services.PartyData(
                    role=PartyRole.APPLICANT,
                    name="张三",
                    id_number=_id_number(f"330681198001{serial:02d}001"),
                    phone="13800138000",
                    address="一号",
                ),
                case_services.PartyData(role=PartyRole.RESPONDENT, name="李四", address="二号"),
            ],
            uploads=[SimpleUploadedFile("sample.pdf", SAMPLE_PDF, "application/pdf")],
        )
    )
    token = case.tracking_token
    clerk = _clerk(case.owner_unit, Role.CENTRE_STAFF, clerks)
    case = case_services.accept_case(case, actor=clerk.user, membership=clerk)
    case.tracking_token = token
    mediation = mediation_services.start_mediation(
        case,
        actor=clerk.user,
        membership=clerk,
        started_how=StartedHow.APPLICATION,
        mediator_names=["王调解"],
    )
    if outcome == "agreement":
        mediation_services.record_agreement(
            mediation,
            actor=clerk.user,
            membership=clerk,
            data=mediation_services.AgreementData(
                form=AgreementForm.WRITTEN,
                parties=[
                    mediation_services.AgreementParty(
                        name="张三", sex="男", ethnicity="汉", address="一号"
                    ),
                    mediation_services.AgreementParty(
                        name="李四", sex="女", ethnicity="汉", address="二号"
                    ),
                ],
                facts="排水沟堵塞。",
                disputed_matters="疏通责任。",
                responsibilities="李四负主要责任。",
                terms="李四五日内疏通排水沟。",
                performance="村调委会现场查验。",
                performance_deadline=timezone.localdate() + datetime.timedelta(days=5),
                performed_immediately=False,
                signed_on=timezone.localdate(),
            ),
        )
    else:
        mediation_services.record_failure(
            mediation,
            actor=clerk.user,
            membership=clerk,
            reason_kind="no_agreement",
            reason="双方各执己见。",
            routes=["litigation"],
        )
    return case


def _place_regions() -> dict[str, Region]:
    grid1 = Region.objects.get(code=FENGYUAN_GRID_1)
    grid2 = (
        Region.objects.filter(parent__code=FENGYUAN_VILLAGE, level=Level.GRID)
        .exclude(pk=grid1.pk)
        .order_by("code")
        .first()
    )

    def village_of(town: str, *, besides: str = "") -> Region:
        return (
            Region.objects.within(town)
            .filter(level=Level.VILLAGE)
            .exclude(code=besides)
            .order_by("code")
            .first()
        )

    hangzhou = Region.objects.create(
        code=HANGZHOU, name="杭州市", place_name="杭州市", level=Level.CITY
    )
    return {
        "grid1": grid1,
        "grid2": grid2,
        "village2": village_of(FENGQIAO_TOWN, besides=FENGYUAN_VILLAGE),
        "diankou": village_of(DIANKOU_TOWN),
        "yuecheng": village_of(YUECHENG),
        "hangzhou": hangzhou,
    }


def _sample_tip(key: str, *, region_code: str, **routing: Any) -> Tip:
    return tip_services.submit_tip(
        description=f"权限矩阵的样例线索{key}：有人强揽工程。",
        region_code=region_code,
        is_real_name=True,
        reporter_name="王五",
        reporter_contact="13900139000",
        attachments=[IncomingFile("note.txt", f"样例材料{key}".encode())],
        # The same accused in every tip: each is a repeat candidate of all the others, so the
        # candidate lists must filter what the reader may see.
        accused=[tip_services.AccusedInput(name="赵六")],
        **routing,
    ).tip


def _with_reveal(tip: Tip, requester: Membership) -> SampleTip:
    """The tip, its file and a pending request (by someone who sees it) to reveal its reporter."""
    reveal = tip_services.request_reveal(tip, membership=requester, reason="核实举报人身份")
    return SampleTip(tip=tip, file=tip.attachments.get(), reveal=reveal)


def build_world() -> World:
    """Everything the matrix requests, made through the services (see the module docstring)."""
    personas = {name: make_named_persona(name, password=None) for name in PERSONA_NAMES}
    regions = _place_regions()
    far_unit = Unit.objects.create(
        name="杭州市社会治理中心", kind=UnitKind.GOVERNANCE_CENTRE, region=regions["hangzhou"]
    )
    clerks: dict[tuple[int, str], Membership] = {}
    places: dict[str, Place] = {}
    for serial, key in enumerate(PLACES, start=1):
        region = regions[key]
        unit = (
            far_unit
            if key == "hangzhou"
            else Unit.objects.filter(region=region).order_by("kind", "pk").first()
        )
        place = Place(key=key, region=region, unit=unit)
        place.case = _dispute(place, serial, outcome="agreement", clerks=clerks)
        place.tracking_token = place.case.tracking_token
        place.terminated = _dispute(place, serial + 10, outcome="termination", clerks=clerks)
        place.attachment = place.case.attachments.get()
        place.party = place.case.parties.order_by("id").first()
        client, _raw = key_services.create_client(
            name=f"矩阵接入方{key}", region_code=region.code, actor=None, membership=None
        )
        place.key_prefix, place.key_name = client.prefix, client.name
        places[key] = place

    hazard = case_services.report_case(
        data=case_services.IntakeData(
            category=Category.objects.get(code="hazard.public_safety"),
            channel=Channel.WEB,
            title="路面塌陷",
            description="路面塌陷，需设置警示。",
            region_code=FENGYUAN_GRID_1,
        )
    )

    anti_gang = personas["anti_gang_zhuji"].membership
    police = personas["police_fengqiao"]
    t_police = _sample_tip("t_police", region_code=FENGYUAN_VILLAGE)
    tip_services.accept_tip(t_police, membership=anti_gang)
    tip_services.assign_tip(t_police, membership=anti_gang, unit=police.unit)

    def office(region_code: str) -> Membership:
        unit = Unit.objects.get(kind=UnitKind.ANTI_GANG_OFFICE, region__code=region_code)
        return _clerk(unit, Role.ANTI_GANG_HANDLER, clerks)

    tips = {
        "t_police": _with_reveal(t_police, police.membership),
        "t_discipline": _with_reveal(
            _sample_tip(
                "t_discipline",
                region_code=FENGYUAN_VILLAGE,
                officials_involved=True,
                officials_region_code=FENGQIAO_TOWN,
            ),
            personas["discipline_zhuji"].membership,
        ),
        "t_diankou": _with_reveal(
            _sample_tip(
                "t_diankou",
                region_code=regions["diankou"].code,
                officials_involved=True,
                officials_region_code=DIANKOU_TOWN,
            ),
            personas["discipline_zhuji"].membership,
        ),
        "t_city": _with_reveal(
            _sample_tip(
                "t_city",
                region_code=FENGYUAN_VILLAGE,
                officials_involved=True,
                officials_region_code=ZHUJI,
            ),
            office(SHAOXING),
        ),
        "t_yuecheng": _with_reveal(
            _sample_tip("t_yuecheng", region_code=regions["yuecheng"].code), office(YUECHENG)
        ),
    }

    for sample in tips.values():
        # The linking job runs after commit, which the set-up's transaction never reaches.
        tip_services.refresh_link_suggestions(sample.tip)
    assert LinkSuggestion.objects.filter(tip=tips["t_police"].tip).count() == len(tips) - 1

    notices = {}
    for name, persona in personas.items():
        if persona.unit.pk not in notices:
            notices[persona.unit.pk] = notifications.notify_unit(
                persona.unit, kind="matrix", title=f"矩阵通知{name}", link="/workbench/"
            )

    near_unit = Unit.objects.get(kind=UnitKind.COMMAND_ROOM, region__code=FENGQIAO_TOWN)
    near_user = User.objects.create_user(username="matrix_near", password=None, full_name="近")
    near_membership = Membership.objects.create(
        user=near_user, unit=near_unit, role=Role.GRID_WORKER, region_code=near_unit.region_code
    )
    far_user = User.objects.create_user(username="matrix_far", password=None, full_name="远")
    far_membership = Membership.objects.create(
        user=far_user, unit=far_unit, role=Role.GRID_WORKER, region_code=far_unit.region_code
    )
    tokens, api_clients = {}, {}
    for name, persona in personas.items():
        token, raw = account_services.create_token(
            user=persona.user, membership=persona.membership, name="矩阵", lifetime_days=30
        )
        tokens[name] = token.prefix
        api_clients[name] = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    token, _raw = account_services.create_token(
        user=near_user, membership=near_membership, name="矩阵", lifetime_days=30
    )
    tokens["near_user"] = token.prefix
    sessions = {
        user.pk: account_services.register_session(
            user=user, session_key=f"matrix-session-{user.username}"
        ).pk
        for user in (near_user, far_user)
    }

    return World(
        personas=personas,
        places=places,
        tips=tips,
        hazard=hazard,
        notices=notices,
        tokens=tokens,
        api_clients=api_clients,
        near_user=near_user,
        far_user=far_user,
        near_membership=near_membership,
        far_membership=far_membership,
        sessions=sessions,
    )
