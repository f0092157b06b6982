"""Static files: content-hashed URLs, cached as immutable only under their current hash."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from panel.web.assets import IMMUTABLE, REVALIDATE, Assets
from tests.conftest import LiveServer


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        yield c


def test_a_changed_file_gets_a_new_url(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    script = tmp_path / "js" / "live.js"
    script.write_text('import { x } from "./socket.js";\n')
    first = Assets.scan(tmp_path).url("js/live.js")
    assert re.fullmatch(r"/static/js/live\.js\?v=[0-9a-f]{12}", first)
    assert Assets.scan(tmp_path).url("js/live.js") == first  # same bytes, same URL
    script.write_text('import { y } from "./socket.js";\n')
    assert Assets.scan(tmp_path).url("js/live.js") != first
    with pytest.raises(ValueError, match="no static file"):
        Assets.scan(tmp_path).url("js/missing.js")


async def test_pages_link_hashed_static_files(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    page = (await client.get("/")).text
    assets = Assets.scan(server.services.settings.static_dir)
    assert f'href="{assets.url("css/site.css")}"' in page
    assert f'href="{assets.url("favicon.svg")}"' in page
    assert 'href="/static/css/site.css"' not in page


async def test_hashed_static_urls_are_immutable_others_revalidate(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    assets = Assets.scan(server.services.settings.static_dir)
    hashed = await client.get(assets.url("js/live.js"))
    assert hashed.status_code == 200
    assert hashed.headers["cache-control"] == IMMUTABLE
    assert hashed.headers["content-type"].startswith("text/javascript")
    assert "content-security-policy" in hashed.headers
    # A module imported by its bare relative name ("./socket.js"), an old version's URL and
    # a plain request are all revalidated, so they can never be stale.
    for url in ("/static/js/socket.js", "/static/js/live.js?v=000000000000"):
        response = await client.get(url)
        assert response.status_code == 200 and response.headers["cache-control"] == REVALIDATE
        again = await client.get(url, headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304 and again.headers["cache-control"] == REVALIDATE
    assert (await client.get("/static/js/nothing.js")).status_code == 404
