"""Open311 client keys: the CLI and the operator page issue (shown once), list and revoke them."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from fengqiao.api import services
from fengqiao.api.models import Open311Client
from fengqiao.core.models import AuditEvent
from personas import FENGQIAO_TOWN, SHAOXING

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("open311", *args, stdout=out)
    return out.getvalue()


def test_cli_prints_the_key_once_and_stores_only_its_hash():
    output = run("create-key", "--name", "12345 热线平台")

    raw = next(line for line in output.splitlines() if line.startswith("o311_"))
    client = Open311Client.objects.get()
    assert client.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(Open311Client.objects.values().get())
    assert client.region_code == SHAOXING
    assert services.authenticate_client(raw) == client
    assert AuditEvent.objects.filter(action="open311.key_created", object_id=client.prefix).exists()

    listed = run("list-keys")
    assert client.prefix in listed and "active" in listed and raw not in listed

    run("revoke-key", client.prefix)
    assert services.authenticate_client(raw) is None
    assert "revoked" in run("list-keys")
    assert AuditEvent.objects.filter(action="open311.key_revoked").count() == 1
    with pytest.raises(CommandError):
        run("revoke-key", client.prefix)
    with pytest.raises(CommandError):
        run("revoke-key", "000000000000")


def test_cli_region_must_exist():
    with pytest.raises(CommandError):
        run("create-key", "--name", "x", "--region", "999999")
    run("create-key", "--name", "镇平台", "--region", FENGQIAO_TOWN)
    assert Open311Client.objects.get().region_code == FENGQIAO_TOWN


def test_operator_issues_a_key_shown_once_and_revokes_it(town_operator_fengqiao):
    api = town_operator_fengqiao.client
    assert api.get(reverse("open311_keys:list")).status_code == 200

    response = api.post(reverse("open311_keys:create"), {"name": "镇网格 App"})

    assert response.status_code == 200
    client = Open311Client.objects.get()
    assert client.region_code == FENGQIAO_TOWN
    assert client.created_by == town_operator_fengqiao.user
    raw = response.context["raw_key"]
    assert raw.encode() in response.content
    listing = api.get(reverse("open311_keys:list"))
    assert client.prefix.encode() in listing.content
    assert raw.encode() not in listing.content
    event = AuditEvent.objects.get(action="open311.key_created")
    assert event.actor_id == town_operator_fengqiao.user.pk

    revoked = api.post(reverse("open311_keys:revoke", args=[client.prefix]))
    assert revoked.status_code == 302
    assert services.authenticate_client(raw) is None
    assert AuditEvent.objects.filter(action="open311.key_revoked").exists()


def test_empty_name_is_refused(town_operator_fengqiao):
    response = town_operator_fengqiao.client.post(reverse("open311_keys:create"), {"name": "  "})
    assert response.status_code == 400
    assert not Open311Client.objects.exists()


def test_other_towns_keys_are_not_listed_or_revocable(town_operator_other_town):
    client, _raw = services.create_client(
        name="枫桥平台", region_code=FENGQIAO_TOWN, actor=None, membership=None
    )
    api = town_operator_other_town.client

    assert client.prefix.encode() not in api.get(reverse("open311_keys:list")).content
    assert api.post(reverse("open311_keys:revoke", args=[client.prefix])).status_code == 404
    client.refresh_from_db()
    assert client.revoked_at is None


def test_county_centre_manages_keys_of_its_towns(county_centre_zhuji):
    client, _raw = services.create_client(
        name="枫桥平台", region_code=FENGQIAO_TOWN, actor=None, membership=None
    )
    api = county_centre_zhuji.client
    assert client.prefix.encode() in api.get(reverse("open311_keys:list")).content
    assert api.post(reverse("open311_keys:revoke", args=[client.prefix])).status_code == 302


@pytest.mark.parametrize("name", ["grid_worker_fengqiao", "system_admin"])
def test_roles_without_the_capability_get_404(request, name):
    persona = request.getfixturevalue(name)
    assert persona.client.get(reverse("open311_keys:list")).status_code == 404
    assert persona.client.post(reverse("open311_keys:create"), {"name": "x"}).status_code == 404
    assert not Open311Client.objects.exists()
