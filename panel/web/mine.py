"""A reader's own questions as JSON, for "Your questions" to update without a reload.

Private by construction: it answers from the reader's session cookie alone (no id in the
URL to guess), sends `private, no-store`, and a reader without a cookie gets an empty list.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from panel.web.base import current_reader, event_or_404, services
from panel.web.caching import PRIVATE
from panel.web.eventview import mine_item


async def my_questions(request: Request) -> Response:
    event = await event_or_404(request, request.path_params["slug"])
    reader = current_reader(request)
    items = []
    if reader:
        async with services(request).store.read() as repo:
            items = [mine_item(q) for q in await repo.reader_questions(event.id, reader)]
    response = JSONResponse({"questions": items})
    response.headers["cache-control"] = PRIVATE
    return response
