"""Every stylesheet and script a page links to is served (vendored, no CDN)."""

from __future__ import annotations

import re

import pytest


@pytest.mark.django_db
def test_assets_linked_from_the_login_page_are_served(client):
    html = client.get("/login/").content.decode()
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert any("bootstrap" in a for a in assets) and any("htmx" in a for a in assets)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        b"".join(response.streaming_content if response.streaming else [response.content])


def test_no_asset_comes_from_another_host(client):
    from pathlib import Path

    base = Path(__file__).resolve().parents[1] / "src/fengqiao/templates/base.html"
    assert "http://" not in base.read_text() and "https://" not in base.read_text()
