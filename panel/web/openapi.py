"""The OpenAPI description of /api/v1, kept beside the routes it describes.

Built from the server's Settings, so the limits it declares (lengths, rate limits) are the
ones this server enforces. Who may call what is declared twice: in OpenAPI's own terms
(`security`, with the `bearer` token and the `session` cookie) and, since OpenAPI cannot say
"a panelist of this event", in words as `x-access`."""

from __future__ import annotations

from typing import Any

from panel import events
from panel.config import Settings
from panel.moderation import REASON_MAX_CHARS
from panel.openness import ASKER_NOTE_MAX_CHARS, STANDARD_REASONS
from panel.web.base import MAX_JSON_BYTES

# The largest id: ids are read as at most 18 ASCII digits (base.whole_number, text.optional_id).
MAX_ID = 10**18 - 1
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    }
}

# Who may call an operation. `security` lists the alternatives: {} is "no credentials".
ANYONE = {"security": [], "x-access": "anyone"}
READER = {
    "security": [{}, {"session": []}],
    "x-access": "anyone; the session cookie (made by a reader's first question or upvote) "
    "identifies the reader",
}
EDITORS = {"security": [{"bearer": []}, {"session": []}], "x-access": "editors"}
ANSWERERS = {
    "security": [{"bearer": []}, {"session": []}],
    "x-access": "editors (token or session), and panelists of the question's event (the "
    "session their invite link opened)",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response = _json(_ref("Error"), description)
    if headers:
        response["headers"] = headers
    return response


ERRORS = {
    "400": _error("Malformed request: not JSON, not an object, or the wrong Content-Type"),
    "401": _error("Not signed in, or the token is not valid or was revoked"),
    "403": _error("Not allowed, or a cross-site request"),
    "404": _error("No such event, question or answer"),
    "409": _error("Conflicts with the current state (already moderated, event closed)"),
    "413": _error(f"Body over {MAX_JSON_BYTES} bytes"),
    "422": _error("A field is invalid: empty or too long text, an id that is not a whole number"),
    "429": _error("Rate limited, or too many failed attempts", RETRY_AFTER),
    "503": _error("The database cannot be reached; nothing was stored", RETRY_AFTER),
}
SLUG = {
    "name": "slug",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": f"^{events.SLUG.pattern}$", "maxLength": 80},
}
QID = {"name": "question_id", "in": "path", "required": True, "schema": ID}


def _op(
    summary: str,
    ok: dict[str, Any],
    access: dict[str, Any],
    *,
    params: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    status: str = "200",
    rate_limit: dict[str, int] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        **access,
        "parameters": params or [],
        "responses": {status: ok, **ERRORS},
    }
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "description": f"A JSON object of at most {MAX_JSON_BYTES} bytes",
            "x-max-body-bytes": MAX_JSON_BYTES,
            "content": {"application/json": {"schema": body}},
        }
    if rate_limit:
        op["x-rate-limit"] = rate_limit
        limits = ", ".join(f"{n} a minute per {who}" for who, n in rate_limit.items())
        op["description"] = f"Rate limited: {limits}; over it, 429 with Retry-After."
    return op


def _text(max_chars: int, description: str = "", min_chars: int = 0) -> dict[str, Any]:
    """A text field: its limit counts characters after trimming and NFC normalisation."""
    schema: dict[str, Any] = {"type": "string", "maxLength": max_chars}
    if min_chars:
        schema["minLength"] = min_chars
    if description:
        schema["description"] = description
    return schema


def _list_of(name: str, item: dict[str, Any], description: str) -> dict[str, Any]:
    array = {"type": "array", "items": item}
    return _json({"type": "object", "required": [name], "properties": {name: array}}, description)


def document(settings: Settings) -> dict[str, Any]:
    """The OpenAPI 3.1 document of /api/v1, with this server's limits."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Livepanel API",
            "version": "1",
            "description": 'Errors are JSON {"error": {"code", "message"}} with a 4xx status. '
            "Text limits count characters after trimming and NFC normalisation. Ids are whole "
            'numbers: 3.0, "3.9" or true where an id belongs is refused (422).',
        },
        "components": {"securitySchemes": SECURITY_SCHEMES, "schemas": schemas(settings)},
        "paths": paths(settings),
    }


SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An editor's API token, created in the desk (/desk/tokens). A revoked "
        "token gets 401.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "livepanel",
        "description": "The signed session cookie: an editor's after /desk/login, a "
        "panelist's after their invite link, or a reader's.",
    },
}


def paths(settings: Settings) -> dict[str, Any]:
    frames = {
        "type": "object",
        "required": ["frames", "last_seq"],
        "properties": {
            "frames": {"type": "array", "items": _ref("Frame")},
            "last_seq": {"type": "integer", "minimum": 0},
            "more": {"type": "boolean"},
        },
    }
    return {
        "/api/v1/events": {
            "get": _op(
                "Public events", _list_of("events", _ref("EventSummary"), "Soonest first"), ANYONE
            )
        },
        "/api/v1/events/{slug}": {
            "get": _op(
                "One event: slots, panelists, who is on now, last_seq",
                _json(_ref("Event"), "The event"),
                ANYONE,
                params=[SLUG],
            )
        },
        "/api/v1/events/{slug}/questions": {
            "get": _op(
                "Questions: approved for anyone; pending or rejected for editors; mine=1 the "
                "reader's own",
                _list_of("questions", _ref("Question"), "Questions"),
                {**READER, "security": [{}, {"bearer": []}, {"session": []}]},
                params=[
                    SLUG,
                    {
                        "name": "status",
                        "in": "query",
                        "description": "pending and rejected: editors only (401 otherwise)",
                        "schema": {"type": "string", "enum": ["approved", "pending", "rejected"]},
                    },
                    {
                        "name": "mine",
                        "in": "query",
                        "description": "1: the reader's own questions, whatever their status",
                        "schema": {"type": "string", "enum": ["1"]},
                    },
                ],
            ),
            "post": _op(
                "Ask a question (Idempotency-Key header makes retries safe)",
                _json(
                    {
                        "type": "object",
                        "required": ["id", "status"],
                        "properties": {"id": ID, "status": {"type": "string"}},
                    },
                    "Stored (or the earlier one for a repeated key)",
                ),
                READER,
                params=[
                    SLUG,
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                    },
                ],
                body=_ref("NewQuestion"),
                status="201",
                rate_limit={
                    "reader": settings.questions_per_minute_reader,
                    "ip": settings.questions_per_minute_ip,
                },
            ),
        },
        "/api/v1/questions/{question_id}/upvote": {
            "post": _op(
                "Upvote once per reader",
                _json(
                    {
                        "type": "object",
                        "required": ["id", "upvotes"],
                        "properties": {
                            "id": ID,
                            "upvotes": {"type": "integer", "minimum": 0},
                            "counted": {"type": "boolean"},
                        },
                    },
                    "New total",
                ),
                READER,
                params=[QID],
                rate_limit={"ip": settings.upvotes_per_minute_ip},
            )
        },
        "/api/v1/questions/{question_id}/moderate": {
            "post": _op(
                "Moderate (editors)",
                _json(
                    {
                        "type": "object",
                        "properties": {
                            "id": ID,
                            "status": {"type": "string"},
                            "pinned": {"type": "boolean"},
                            "merged_into": {"type": ["integer", "null"]},
                        },
                    },
                    "The question now",
                ),
                EDITORS,
                params=[QID],
                body=_moderation(settings),
            )
        },
        "/api/v1/questions/{question_id}/answers": {
            "post": _op(
                "Answer (panelists of the event, editors)",
                _json({"type": "object", "properties": {"id": ID, "question_id": ID}}, "Stored"),
                ANSWERERS,
                params=[QID],
                body=_answer(settings),
                status="201",
            )
        },
        "/api/v1/answers/{answer_id}": {
            "post": _op(
                "Edit an answer (its author, or editors)",
                _json({"type": "object", "properties": {"id": ID}}, "Edited"),
                ANSWERERS,
                params=[{"name": "answer_id", "in": "path", "required": True, "schema": ID}],
                body=_answer(settings),
            )
        },
        "/api/v1/me": {
            "get": _op(
                "Who is signed in (session cookie or bearer token)",
                _json(
                    {
                        "type": "object",
                        "required": ["editor"],
                        "properties": {"editor": {"type": ["string", "null"]}},
                    },
                    "The editor's name, or null",
                ),
                {**ANYONE, "security": [{}, {"bearer": []}, {"session": []}]},
            )
        },
        "/api/v1/events/{slug}/stream": {
            "get": _op(
                "Public frames after since (the polling twin of the WebSocket)",
                _json(frames, "Frames"),
                ANYONE,
                params=[
                    SLUG,
                    {
                        "name": "since",
                        "in": "query",
                        "description": "The last seq seen: a whole number",
                        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                    },
                ],
            )
        },
        "/api/v1/events/{slug}/reports": {
            "get": _op(
                "Readers' reports of published questions and answers (editors only)",
                _list_of("reports", {"type": "object"}, "Reports"),
                EDITORS,
                params=[SLUG],
            )
        },
    }


def _answer(settings: Settings) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["body"],
        "properties": {"body": _text(settings.answer_max_chars, "Markdown", min_chars=1)},
    }


def _moderation(settings: Settings) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["action"],
        "properties": {
            "action": {
                "type": "string",
                "enum": [
                    "approve",
                    "reject",
                    "pin",
                    "unpin",
                    "merge",
                    "unmerge",
                    "withdraw",
                    "edit",
                    "direct",
                    "answered",
                    "unanswered",
                ],
            },
            "into": {**ID, "description": "merge: the question to keep (published or waiting)"},
            "reason": _text(REASON_MAX_CHARS, "reject: private reason"),
            "asker_reason": {
                "type": "string",
                "enum": ["", *STANDARD_REASONS],
                "description": "reject: a standard reason shown to the asker only",
            },
            "asker_note": _text(ASKER_NOTE_MAX_CHARS, "reject: free text shown to the asker only"),
            "body": _text(settings.question_max_chars, "edit: the corrected text", min_chars=1),
            "to": {
                "type": ["integer", "null"],
                "minimum": 0,
                "maximum": MAX_ID,
                "description": "direct: a panelist id, or null (or 0) for anyone",
            },
        },
    }


def schemas(settings: Settings) -> dict[str, Any]:
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                }
            },
        },
        "EventSummary": {
            "type": "object",
            "properties": {
                "slug": {"type": "string"},
                "title": {"type": "string"},
                "summary": {"type": "string"},
                "status": {"type": "string", "enum": ["scheduled", "live", "closed", "published"]},
                "starts_at": {"type": "string", "format": "date-time"},
                "ends_at": {"type": "string", "format": "date-time"},
                "timezone": {"type": "string"},
                "moderation": {"type": "string"},
                "last_seq": {"type": "integer", "minimum": 0},
                "url": {"type": "string"},
            },
        },
        "Event": {
            "allOf": [
                _ref("EventSummary"),
                {
                    "type": "object",
                    "properties": {
                        "intro_md": {"type": "string"},
                        "related": {"type": "array"},
                        "slots": {"type": "array"},
                        "core_panel": {"type": "array", "items": {"type": "integer"}},
                        "panelists": {"type": "array"},
                        "on_now": {"type": "array", "items": {"type": "integer"}},
                        "counts": _ref("QuestionCounts"),
                    },
                },
            ]
        },
        "QuestionCounts": {
            "type": "object",
            "description": "Every question received is published, rejected or waiting",
            "properties": {
                name: {"type": "integer", "minimum": 0}
                for name in ("received", "published", "answered", "rejected", "waiting")
            },
        },
        "NewQuestion": {
            "type": "object",
            "required": ["body"],
            "properties": {
                "body": _text(settings.question_max_chars, min_chars=1),
                "name": _text(settings.name_max_chars),
                "to": {
                    "type": ["integer", "null"],
                    "minimum": 0,
                    "maximum": MAX_ID,
                    "description": "A panelist of this event, or null (or 0) for anyone",
                },
                "client_key": {"type": "string", "minLength": 1, "maxLength": 200},
            },
        },
        "Question": {
            "type": "object",
            "properties": {
                "id": ID,
                "body": {"type": "string"},
                "name": {"type": "string"},
                "status": {"type": "string"},
                "created_at": {"type": "string"},
                "to": {"type": ["object", "null"]},
                "pinned": {"type": "boolean"},
                "upvotes": {"type": "integer", "minimum": 0},
                "answered": {"type": "boolean"},
                "merged_into": {"type": ["integer", "null"]},
                "answers": {"type": "array"},
            },
        },
        "Frame": {
            "type": "object",
            "required": ["type", "at", "data"],
            "properties": {
                "seq": {"type": "integer", "minimum": 1},
                "type": {"type": "string"},
                "at": {"type": "string", "format": "date-time"},
                "data": {"type": "object"},
            },
        },
    }
