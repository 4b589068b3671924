"""SECURITY 7 over the cases API: every persona, every case operation, inside and outside scope.

A case outside the persona's region is a 404 on every operation, exactly like a missing one, and
never appears in a list; without ``cases.view`` the reads are 404 as well.
"""

from __future__ import annotations

import pytest

from fengqiao.accounts.roles import Cap
from fengqiao.cases import services
from fengqiao.cases.models import Case, Category, Channel
from fengqiao.regions.models import Level, Region
from personas import FENGYUAN_VILLAGE, PERSONA_NAMES
from security.test_permission_matrix import API_OPERATIONS

pytestmark = pytest.mark.django_db


def _report(region_code: str) -> Case:
    return services.report_case(
        data=services.IntakeData(
            category=Category.objects.get(code="hazard.public_safety"),
            channel=Channel.API,
            title="路面塌陷",
            description="路面塌陷，需设置警示。",
            region_code=region_code,
        )
    )


@pytest.fixture
def cases() -> dict[str, Case]:
    yuecheng_town = Region.objects.filter(level=Level.TOWN, code__startswith="330602").first()
    return {"fengyuan": _report(FENGYUAN_VILLAGE), "yuecheng": _report(yuecheng_town.code)}


# A valid body for every step, so the lookup (not the body check) decides the answer.
BODIES = {
    "assign": {"unit": "00000000-0000-0000-0000-000000000001"},
    "extension-request": {"days": 3, "reason": "测试"},
    "extension-decision": {"approve": True},
    "feedback": {"method": "handled", "resolved": True, "summary": "测试"},
    "verify": {"passed": True},
    "evaluate": {"satisfaction": 4},
    "supervise": {"level": 1, "reason": "测试"},
    "notes": {"body": "测试"},
    **{name: {"reason": "测试"} for name in ("return", "suspend", "reopen", "reject", "risk-flag")},
}


def _sees(persona, case: Case) -> bool:
    membership = persona.membership
    return membership.can(Cap.CASES_VIEW) and case.region_code.startswith(membership.scope_prefix)


@pytest.mark.parametrize("persona", PERSONA_NAMES, indirect=True)
def test_every_case_operation_is_scoped(persona, cases):
    api = persona.client
    listed = api.get("/api/v1/cases", {"limit": 100})
    if persona.membership.can(Cap.CASES_VIEW):
        assert listed.status_code == 200
        codes = {item["code"] for item in listed.json()["items"]}
        for case in cases.values():
            assert (case.code in codes) == _sees(persona, case), case.code
        for item in listed.json()["items"]:
            assert item["region_code"].startswith(persona.membership.scope_prefix)
    else:
        assert listed.status_code == 404

    failures = []
    for case in cases.values():
        visible = _sees(persona, case)
        for (method, path), kind in API_OPERATIONS.items():
            if kind not in {"case", "case_action"}:
                continue
            url = path.replace("{code}", case.code)
            body = BODIES.get(url.rsplit("/", 1)[-1], {})
            response = getattr(api, method)(url, body, content_type="application/json")
            if not visible and response.status_code != 404:
                failures.append(f"{method.upper()} {url} out of scope → {response.status_code}")
            if visible and kind == "case" and response.status_code != 200:
                failures.append(f"{method.upper()} {url} in scope → {response.status_code}")
            if visible and kind == "case_action" and response.status_code == 404:
                # In scope, a step is refused with 409/422 or done, never hidden — unless the
                # role lacks the capability altogether.
                cap = Cap.CASES_SUPERVISE if url.endswith("/supervise") else Cap.CASES_HANDLE
                if persona.membership.can(cap):
                    failures.append(f"{method.upper()} {url} in scope → 404")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "name", ["town_operator_other_town", "county_centre_yuecheng"], ids=lambda n: n
)
def test_other_areas_token_cannot_see_the_case(request, name, cases):
    persona = request.getfixturevalue(name)
    code = cases["fengyuan"].code

    detail = persona.client.get(f"/api/v1/cases/{code}")
    assert detail.status_code == 404
    assert detail.json() == {"code": "not_found", "message": "未找到"}
    listed = persona.client.get("/api/v1/cases", {"limit": 100}).json()["items"]
    assert code not in {item["code"] for item in listed}
    # Filtering for a region outside the scope is a 404 too, not an empty page.
    assert persona.client.get("/api/v1/cases", {"region": FENGYUAN_VILLAGE}).status_code == 404
