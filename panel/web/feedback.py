"""What a reader's form answers when static/js/feedback.js posts it with fetch: JSON, so the
page stays where it is and says what happened."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from panel.security import mask_csrf
from panel.web.base import csrf_token

ALREADY_UPVOTED = "You already upvoted that question: your first upvote is the one counted."
ASKED_PRE = "Thanks — an editor will read it."
ASKED_POST = "Published."


def asked_in_place(request: Request, question_id: int, status: str) -> JSONResponse:
    """The question was taken. The reader may have just got a session (this response sets
    the cookie), so the page's later forms get a token for it."""
    return JSONResponse(
        {
            "id": question_id,
            "status": status,
            "message": ASKED_POST if status == "approved" else ASKED_PRE,
            "csrf_token": mask_csrf(csrf_token(request)),
        },
        status_code=201,
    )


def upvoted_in_place(question_id: int, total: int, counted: bool) -> JSONResponse:
    """The upvote's outcome: counted now, or counted already."""
    return JSONResponse(
        {
            "id": question_id,
            "upvotes": total,
            "counted": counted,
            "message": "Upvoted" if counted else "You already upvoted",
        }
    )
