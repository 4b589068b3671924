"""Notices to units: idempotent with a dedupe key, read only by the unit's members."""

from __future__ import annotations

import pytest

from fengqiao.accounts import notifications
from fengqiao.accounts.models import Notification
from personas import make_persona

pytestmark = pytest.mark.django_db


def test_a_dedupe_key_sends_once():
    operator = make_persona("op1", "town_operator", "command_room", "330681109")
    first = notifications.notify_unit(
        operator.unit, kind="card", title="330681-20261128-00001 黄牌", dedupe_key="card:1:yellow"
    )
    second = notifications.notify_unit(
        operator.unit, kind="card", title="330681-20261128-00001 黄牌", dedupe_key="card:1:yellow"
    )
    assert first is not None and second is None
    assert Notification.objects.count() == 1


def test_only_the_units_members_mark_a_notice_read():
    mine = make_persona("op2", "town_operator", "command_room", "330681109")
    other = make_persona("op3", "town_operator", "command_room", "330681104")
    notice = notifications.notify_unit(mine.unit, kind="escalated", title="上报")
    assert notifications.unread_for(other.membership).count() == 0
    assert (
        notifications.mark_read(
            membership=other.membership, user=other.user, public_id=notice.public_id
        )
        == 0
    )
    assert notifications.unread_for(mine.membership).count() == 1
    assert (
        notifications.mark_read(
            membership=mine.membership, user=mine.user, public_id=notice.public_id
        )
        == 1
    )
    assert notifications.unread_for(mine.membership).count() == 0


def test_the_notifications_page_lists_the_units_notices_and_marks_them_read(
    town_operator_fengqiao, town_operator_other_town
):
    notice = notifications.notify_unit(
        town_operator_fengqiao.unit, kind="card", title="330681-20261128-00009 红牌", link="/cases/"
    )
    page = town_operator_fengqiao.client.get("/notifications/")
    assert page.status_code == 200 and "330681-20261128-00009 红牌" in page.content.decode()
    assert (
        "330681-20261128-00009"
        not in town_operator_other_town.client.get("/notifications/").content.decode()
    )
    url = f"/notifications/{notice.public_id}/read/"
    assert town_operator_other_town.client.post(url).status_code == 404
    assert town_operator_fengqiao.client.get(url).status_code == 405
    response = town_operator_fengqiao.client.post(url)
    assert response.status_code == 302 and response.url == "/cases/"
    notice.refresh_from_db()
    assert notice.read_at is not None and notice.read_by == town_operator_fengqiao.user
    workbench = town_operator_fengqiao.client.get("/workbench/")
    assert workbench.context["unread"] == 0
