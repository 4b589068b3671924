"""Canaries (SECURITY 17, 19): a reporter's address, agent, referrer, cookies and request id are
found nowhere — database files, logs, job payloads, cache — and neither are the tip's words.

The submission goes through the real stack (middleware, API, services, on-commit job) and really
commits, so what would reach the disk does; then the raw SQLite file and its WAL are read as
bytes (on PostgreSQL every row of every table is searched as text instead).
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from huey.contrib.djhuey import HUEY

from fengqiao.accounts.models import UserSession
from fengqiao.core.models import IdempotencyRecord
from fengqiao.core.validators import id_number_check_char
from fengqiao.regions.models import Unit, UnitKind
from fengqiao.tips import receipts, services
from fengqiao.tips.middleware import AnonymousIntakeMiddleware
from fengqiao.tips.models import Tip
from personas import FENGQIAO_TOWN


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Real commits to the test database (the test removes its rows), so the files can be read."""
    with django_db_blocker.unblock():
        name = str(connection.settings_dict["NAME"])
        expected = settings.DATABASES["default"].get("TEST", {}).get("NAME")
        if not (name == expected or name.startswith("test_")):
            pytest.skip("needs the test database")
        yield
        connection.close()


@pytest.fixture
def job_payloads(monkeypatch):
    """What each queued job would put in the queue's storage (serialised, as a worker reads it)."""
    captured: list[bytes] = []
    original = HUEY.enqueue

    def enqueue(task):
        captured.append(HUEY.serialize_task(task))
        return original(task)

    monkeypatch.setattr(HUEY, "enqueue", enqueue)
    return captured


def checkpoint() -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(FULL)")


def db_hits(marker: str) -> int:
    """Occurrences of ``marker`` in the stored database: file bytes on SQLite, row text on PG."""
    if connection.vendor == "sqlite":
        path = Path(settings.DATABASES["default"]["TEST"]["NAME"])
        hits = 0
        for candidate in (path, Path(f"{path}-wal")):
            if candidate.exists():
                data = candidate.read_bytes()
                hits += data.count(marker.encode()) + data.count(marker.encode("utf-16-le"))
        return hits
    hits = 0
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(
                f"SELECT COUNT(*) FROM {quoted} AS t WHERE t::text LIKE %s",  # noqa: S608
                [f"%{marker}%"],
            )
            hits += cursor.fetchone()[0]
    return hits


def cache_hits(marker: str) -> int:
    location = Path(settings.CACHES["default"].get("LOCATION", ""))
    if not location.is_dir():
        return 0
    return sum(p.read_bytes().count(marker.encode()) for p in location.rglob("*") if p.is_file())


def valid_id_number(seed: int) -> str:
    first17 = f"33068119900101{seed % 1000:03d}"
    return first17 + id_number_check_char(first17)


def cleanup(tip_ids: list[int], since) -> None:
    # Audit events stay (append-only); they were checked to carry none of the markers.
    Tip.objects.filter(merged_into__in=tip_ids).update(merged_into=None, status="received")
    Tip.objects.filter(pk__in=tip_ids).delete()
    IdempotencyRecord.objects.filter(created_at__gte=since).delete()
    checkpoint()


def test_intake_canary_the_reporters_client_leaves_no_trace(
    committed, caplog, job_payloads, persona_for_canary
):
    from django.utils import timezone

    caplog.set_level(logging.DEBUG)
    token = uuid.uuid4().hex
    address = f"2001:db8::{token[:4]}:{token[4:8]}"
    forwarded = f"198.51.100.{int(token[:2], 16) % 200 + 1}, 2001:db8::{token[8:12]}"
    agent = f"CanaryAgent/{token}"
    referrer = f"https://canary-{token}.example/from"
    cookie = f"cookie-{token}"
    request_id = f"canaryreq{token}"
    key = f"canary-idempotency-{token}"
    markers = [address, f"2001:db8::{token[8:12]}", agent, referrer, cookie, request_id, key]
    headers = {
        "REMOTE_ADDR": address,
        "HTTP_USER_AGENT": agent,
        "HTTP_REFERER": referrer,
        "HTTP_X_FORWARDED_FOR": forwarded,
        "HTTP_X_REQUEST_ID": request_id,
    }
    # A staff member filing from a logged-in browser is as anonymous as anyone.
    client = persona_for_canary.client
    client.cookies["canary"] = cookie
    session = UserSession.objects.get(user=persona_for_canary.user)
    started = timezone.now()
    tip_ids: list[int] = []
    try:
        response = client.post(
            "/api/v1/tips",
            {"description": f"canary tip {token}", "region_code": "330681109290"},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=key,
            **headers,
        )
        assert response.status_code == 201, response.content
        assert "X-Request-Id" not in response
        receipt = response.json()["receipt"]
        tip = Tip.objects.get(receipt_hmac=receipts.digest(receipts.canonical(receipt)))
        tip_ids.append(tip.pk)
        replay = client.post(
            "/api/v1/tips",
            {"description": f"canary tip {token}", "region_code": "330681109290"},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=key,
            **headers,
        )
        assert replay.status_code == 201 and replay.json()["receipt"] == receipt
        for path, body in (
            ("/api/v1/tips/lookup", {"receipt": receipt}),
            ("/api/v1/tips/lookup/reply", {"receipt": receipt, "body": f"more {token}"}),
        ):
            answer = client.post(path, body, content_type="application/json", **headers)
            assert answer.status_code in (200, 201), answer.content
            assert "X-Request-Id" not in answer
        assert Tip.objects.count() >= 1 and len(job_payloads) == 1
        session.refresh_from_db()
        assert session.last_seen_at <= started
        checkpoint()
        # The scan works: the tip's reference is stored in the clear.
        assert db_hits(tip.reference) >= 1
        for marker in [*markers, receipts.canonical(receipt), receipt]:
            assert db_hits(marker) == 0, marker
            assert marker not in caplog.text, marker
            assert all(marker.encode() not in payload for payload in job_payloads), marker
            assert cache_hits(marker) == 0, marker
        assert db_hits(f"canary tip {token}") == 0 and db_hits(f"more {token}") == 0
    finally:
        cleanup(tip_ids, started)


@pytest.fixture
def persona_for_canary(committed):
    from personas import make_persona

    persona = make_persona(
        f"canary_{uuid.uuid4().hex[:8]}", "anti_gang_handler", UnitKind.ANTI_GANG_OFFICE, "330681"
    )
    yield persona
    UserSession.objects.filter(user=persona.user).delete()
    from django.contrib.sessions.models import Session

    Session.objects.all().delete()
    persona.device.delete()
    persona.membership.delete()
    persona.user.delete()


def test_encryption_canary_no_plaintext_of_a_tip_reaches_the_database(committed):
    """Content, place, officials, reporter, accused, messages, notes, files: 0 hits on disk."""
    from fengqiao.tips import attachments
    from personas import make_persona

    token = uuid.uuid4().hex
    secret = {
        "description": f"CANARY-DESC-{token}",
        "place": f"CANARY-PLACE-{token}",
        "officials": f"CANARY-OFFICIAL-{token}",
        "reporter": f"CANARY-REPORTER-{token}",
        "contact": f"CANARY-CONTACT-{token}",
        "accused": f"CANARY-ACCUSED-{token}",
        "nickname": f"CANARY-NICK-{token}",
        "message": f"CANARY-MESSAGE-{token}",
        "reply": f"CANARY-REPLY-{token}",
        "note": f"CANARY-NOTE-{token}",
        "file": f"CANARY-FILE-{token}",
        "reason": f"CANARY-REASON-{token}",
    }
    id_number = valid_id_number(int(token[:6], 16))
    triager = make_persona(
        f"enc_{token[:8]}", "anti_gang_handler", UnitKind.ANTI_GANG_OFFICE, "330681"
    )
    tip = None
    from django.utils import timezone

    started = timezone.now()
    try:
        submission = services.submit_tip(
            description=secret["description"],
            region_code="330681109290",
            place_text=secret["place"],
            officials_involved=True,
            officials_region_code="330681109",
            officials_text=secret["officials"],
            is_real_name=True,
            reporter_name=secret["reporter"],
            reporter_contact=secret["contact"],
            accused=[
                services.AccusedInput(
                    name=secret["accused"], nickname=secret["nickname"], id_number=id_number
                )
            ],
            attachments=[attachments.IncomingFile("a.txt", secret["file"].encode())],
        )
        tip = submission.tip
        services.accept_tip(tip, membership=triager.membership)
        services.send_message(tip, membership=triager.membership, body=secret["message"])
        services.reply_as_reporter(receipt=submission.receipt, body=secret["reply"])
        services.add_note(tip, membership=triager.membership, body=secret["note"])
        services.request_reveal(tip, membership=triager.membership, reason=secret["reason"])
        dossier = services.open_tip(tip, membership=triager.membership)
        assert dossier.description == secret["description"]
        assert dossier.accused[0].id_number == id_number
        checkpoint()
        assert db_hits(tip.reference) >= 1
        for name, marker in secret.items():
            assert db_hits(marker) == 0, name
        assert db_hits(id_number) == 0
    finally:
        if tip is not None:
            Tip.objects.filter(pk=tip.pk).delete()
        IdempotencyRecord.objects.filter(created_at__gte=started).delete()
        UserSession.objects.filter(user=triager.user).delete()
        triager.device.delete()
        triager.membership.delete()
        triager.user.delete()
        checkpoint()
    # secure_delete=ON (SQLite): the deleted rows are overwritten, not merely unlinked.
    assert db_hits(secret["description"]) == 0


@pytest.mark.django_db
def test_the_middleware_strips_what_identifies_and_leaves_staff_routes_alone(rf):
    seen = {}

    def view(request):
        seen["meta"] = dict(request.META)
        seen["cookies"] = dict(request.COOKIES)
        from django.http import HttpResponse

        response = HttpResponse("ok")
        response["X-Request-Id"] = "abc12345"
        return response

    middleware = AnonymousIntakeMiddleware(view)
    headers = {
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_USER_AGENT": "Agent",
        "HTTP_REFERER": "https://elsewhere.example/",
        "HTTP_X_FORWARDED_FOR": "203.0.113.10",
        "HTTP_X_REAL_IP": "203.0.113.11",
        "HTTP_FORWARDED": "for=203.0.113.12",
        "HTTP_X_REQUEST_ID": "client-chosen-id",
        "HTTP_AUTHORIZATION": "Bearer x",
        "HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}=s3ss10n; csrftoken=t0k3n",
    }
    for method, path in (
        ("get", "/tips/public/"),
        ("post", "/api/v1/tips"),
        ("post", "/api/v1/tips/lookup"),
        ("post", "/api/v1/tips/lookup/reply"),
    ):
        response = middleware(getattr(rf, method)(path, **headers))
        meta = seen["meta"]
        assert meta["REMOTE_ADDR"] == "0.0.0.0", path
        for key in (
            "HTTP_USER_AGENT",
            "HTTP_X_FORWARDED_FOR",
            "HTTP_X_REAL_IP",
            "HTTP_FORWARDED",
            "HTTP_X_REQUEST_ID",
            "HTTP_AUTHORIZATION",
        ):
            assert key not in meta, (path, key)
        assert "s3ss10n" not in meta.get("HTTP_COOKIE", "") and "csrftoken" in seen["cookies"]
        assert settings.SESSION_COOKIE_NAME not in seen["cookies"]
        assert "X-Request-Id" not in response
        assert ("HTTP_REFERER" in meta) == (method == "post"), path
    for method, path in (
        ("get", "/api/v1/tips"),
        ("post", "/api/v1/tips/intake"),
        ("get", "/cases/"),
    ):
        response = middleware(getattr(rf, method)(path, **headers))
        assert seen["meta"]["REMOTE_ADDR"] == "203.0.113.9" and "X-Request-Id" in response


@pytest.mark.django_db
def test_a_job_payload_carries_the_tip_id_only(job_payloads, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submission = services.submit_tip(
            description="CANARY-JOB 有人收保护费", region_code="330681109290"
        )
    [payload] = job_payloads
    assert (
        b"CANARY-JOB" not in payload
        and receipts.canonical(submission.receipt).encode() not in payload
    )
    assert Unit.objects.filter(kind=UnitKind.POLICE_STATION, region__code=FENGQIAO_TOWN).exists()
