"""The app answers on a real port: front page, health check and a 404 page."""

import httpx

from tests.conftest import LiveServer, seed_event


async def test_front_page_health_and_404(server: LiveServer) -> None:
    info = await server.acall(lambda: seed_event(server.actions))
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        page = await client.get(f"/events/{info['slug']}")
        assert page.status_code == 200
        assert "Working and training as a probation officer" in page.text
        missing = await client.get("/events/no-such-event")
        assert missing.status_code == 404
        assert "Page not found" in missing.text
