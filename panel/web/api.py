"""The JSON API under /api/v1: one error shape, never a 500 for bad input."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from panel import payloads
from panel.domain import EventStatus, QuestionStatus, RuleError, iso, on_now
from panel.live import protocol as p
from panel.live.broker import public_channel
from panel.web import openapi as described
from panel.web.auth import answerer, editor_actor, require_api_editor
from panel.web.base import (
    current_reader,
    json_error,
    origin_allowed,
    read_json,
    reader_id,
    services,
    whole_number,
)
from panel.web.readers import give_back_quota, limit_reached

PUBLIC_STATUSES = [s for s in EventStatus if s != EventStatus.DRAFT]
STREAM_PAGE = 1000  # frames per response of the polling twin


async def _event(request: Request):  # noqa: ANN202
    async with services(request).store.read() as repo:
        event = await repo.event_by_slug(request.path_params["slug"])
    if event is None or event.status == EventStatus.DRAFT:
        raise RuleError("not_found", "No such event.")
    return event


def _event_summary(e) -> dict[str, Any]:  # noqa: ANN001
    return {
        "slug": e.slug,
        "title": e.title,
        "summary": e.summary,
        "status": e.status,
        "starts_at": iso(e.starts_at),
        "ends_at": iso(e.ends_at),
        "timezone": e.timezone,
        "moderation": e.moderation,
        "last_seq": e.last_seq,
        "url": f"/events/{e.slug}",
    }


async def list_events(request: Request) -> Response:
    async with services(request).store.read() as repo:
        events = await repo.list_events(PUBLIC_STATUSES)
    return JSONResponse({"events": [_event_summary(e) for e in events]})


async def get_event(request: Request) -> Response:
    svc = services(request)
    event = await _event(request)
    async with svc.store.read() as repo:
        event = await repo.event_by_id(event.id) or event
        slots = await repo.slots(event.id)
        lineup = await repo.lineup(event.id)
        counts = await repo.question_counts(event.id)
    people = lineup.everyone()
    return JSONResponse(
        {
            **_event_summary(event),
            "intro_md": event.intro_md,
            "related": list(event.related),
            "slots": [
                {**payloads.slot(s), "panelists": [x.id for x in lineup.by_slot.get(s.id, ())]}
                for s in slots
            ],
            "core_panel": [x.id for x in lineup.core],
            "panelists": [{**payloads.panelist(x), "bio": x.bio} for x in people],
            "on_now": [x.id for x in on_now(event, slots, lineup, svc.clock.now())],
            "counts": counts.payload(),
        }
    )


async def list_questions(request: Request) -> Response:
    """Approved questions for everyone; `?mine=1` the reader's own; pending for editors."""
    svc = services(request)
    event = await _event(request)
    status = request.query_params.get("status", "approved")
    if status not in ("approved", "pending", "rejected"):
        raise RuleError("invalid", "status must be approved, pending or rejected.")
    if status != "approved":
        await require_api_editor(request)
    async with svc.store.read() as repo:
        people = {x.id: x for x in (await repo.lineup(event.id)).everyone()}
        if request.query_params.get("mine"):
            mine = current_reader(request)  # asking whose they are starts no session
            questions = await repo.reader_questions(event.id, mine) if mine else []
        else:
            questions = await repo.questions(event.id, [status])
        answers = await repo.answers_for_event(event.id)
    by_question: dict[int, list[dict[str, Any]]] = {}
    for a in answers:
        by_question.setdefault(a.question_id, []).append(payloads.answer(a, people))
    out = []
    for q in questions:
        item = {
            **payloads.question(q, people),
            "status": q.status,
            "answers": by_question.get(q.id, []) if q.status == "approved" else [],
        }
        out.append(item)
    return JSONResponse({"questions": out})


async def post_question(request: Request) -> Response:
    """Ask a question. The event, the key and the event's rules are all read by the write
    itself, in one transaction: a question costs one write and no read."""
    svc = services(request)
    slug = request.path_params["slug"]
    data = await read_json(request)
    key = request.headers.get("idempotency-key") or data.get("client_key")
    if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 200):
        raise RuleError("invalid", "Idempotency-Key must be 1 to 200 characters.")
    reader = reader_id(request)
    svc.questions.check(data.get("body"), data.get("name", ""))  # typos cost no quota
    wait = await limit_reached(request)
    if wait:
        # A retry is answered from the store and does not count against the limit.
        earlier = (
            await svc.questions.replay(
                slug, reader, key, data.get("body"), data.get("name", ""), data.get("to")
            )
            if key
            else None
        )
        if earlier is None:
            return json_error(
                "rate_limited",
                f"Too many questions; try again in {wait} seconds.",
                429,
                headers={"Retry-After": str(wait)},
            )
        question, created = earlier, False
    else:
        try:
            question, created = await svc.questions.post_to(
                slug, reader, data.get("body"), data.get("name", ""), data.get("to"), key
            )
        except RuleError as exc:
            if exc.code == "not_found":
                await give_back_quota(request)  # no such event: as if never asked
            raise
        if not created:
            await give_back_quota(request)  # a retry does not count against the limit
    headers = {} if created else {"Idempotent-Replayed": "true"}
    return JSONResponse(
        {"id": question.id, "status": question.status}, status_code=201, headers=headers
    )


async def upvote(request: Request) -> Response:
    svc = services(request)
    if not origin_allowed(request):
        raise RuleError("forbidden", "Cross-site requests are not allowed.")
    # Reader ids are free to mint (clear the cookie), so upvotes are also limited per IP.
    ip = request.client.host if request.client else "unknown"
    wait = await svc.upvote_limiter.retry_after(f"ip:{ip}")
    if wait:
        return json_error(
            "rate_limited",
            f"Too many upvotes; try again in {wait} seconds.",
            429,
            headers={"Retry-After": str(wait)},
        )
    question_id = request.path_params["question_id"]
    total, counted = await svc.votes.cast(question_id, reader_id(request))
    # counted: false when this reader had upvoted it already (the total is unchanged).
    return JSONResponse({"id": question_id, "upvotes": total, "counted": counted})


async def moderate(request: Request) -> Response:
    svc = services(request)
    actor = await require_api_editor(request)
    data = await read_json(request)
    question = await svc.moderation.moderate(
        request.path_params["question_id"],
        str(data.get("action", "")),
        actor,
        into=data.get("into"),
        reason=data.get("reason", ""),
        body=data.get("body") if data.get("action") == "edit" else None,
        to=data.get("to"),
        asker_reason=data.get("asker_reason"),
        asker_note=data.get("asker_note"),
    )
    return JSONResponse(
        {
            "id": question.id,
            "status": question.status,
            "pinned": question.pinned,
            "merged_into": question.merged_into,
        }
    )


async def post_answer(request: Request) -> Response:
    svc = services(request)
    question_id = request.path_params["question_id"]
    async with svc.store.read() as repo:
        question = await repo.question(question_id)
    if question is None or question.status != QuestionStatus.APPROVED:
        raise RuleError("not_found", "No such question.")
    actor = await answerer(request, question.event_id)
    data = await read_json(request)
    answer_id = await svc.answers.answer(question_id, data.get("body"), actor)
    return JSONResponse({"id": answer_id, "question_id": question_id}, status_code=201)


async def edit_answer(request: Request) -> Response:
    svc = services(request)
    answer_id = request.path_params["answer_id"]
    async with svc.store.read() as repo:
        answer = await repo.answer(answer_id)
        question = await repo.question(answer.question_id) if answer else None
    if answer is None or question is None:
        raise RuleError("not_found", "No such answer.")
    actor = await answerer(request, question.event_id)
    data = await read_json(request)
    await svc.answers.edit(answer_id, data.get("body"), actor)
    return JSONResponse({"id": answer_id})


async def stream(request: Request) -> Response:
    """The polling twin of the WebSocket: the same frames after `since`, a page at a time."""
    svc = services(request)
    event = await _event(request)
    since = whole_number(request.query_params.get("since", "0"))
    if since is None:
        raise RuleError("invalid", "since must be a whole number >= 0.")
    async with svc.store.read() as repo:
        last = await repo.last_seq(event.id)
        if since > last:
            body = f'{{"frames":[{p.stream_reset(last, svc.clock.now())}],"last_seq":{last}}}'
            return Response(body, media_type="application/json")
        upto = min(last, since + STREAM_PAGE)
        # The hub's ring, when it holds the whole page; else the log, as the socket would.
        texts = svc.hub.recent(public_channel(event.id), since, upto)
        if texts is None:
            frames = await repo.frames_since(event.id, since, STREAM_PAGE)
            texts = [p.encode(f) for f in frames]
            upto = (frames[-1].seq or last) if frames else last
    more = "true" if upto < last else "false"
    body = f'{{"frames":[{",".join(texts)}],"last_seq":{last},"more":{more}}}'
    return Response(body, media_type="application/json")


async def openapi(request: Request) -> Response:
    return JSONResponse(described.document(services(request).settings))


async def whoami(request: Request) -> Response:
    actor = await editor_actor(request)
    return JSONResponse({"editor": actor.name if actor else None})
