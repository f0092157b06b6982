"""The OpenAPI description of /api/v1, kept beside the routes it describes."""

from __future__ import annotations

from typing import Any

from panel.openness import ASKER_NOTE_MAX_CHARS, STANDARD_REASONS


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _json(_ref("Error"), "Malformed request"),
    "401": _json(_ref("Error"), "Not signed in"),
    "403": _json(_ref("Error"), "Not allowed"),
    "404": _json(_ref("Error"), "Not found"),
    "409": _json(_ref("Error"), "Conflicts with the current state"),
    "413": _json(_ref("Error"), "Body too large"),
    "422": _json(_ref("Error"), "Invalid field"),
    "429": _json(_ref("Error"), "Rate limited; see Retry-After"),
}
SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
QID = {"name": "question_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _op(
    summary: str,
    ok: dict[str, Any],
    *,
    params: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    status: str = "200",
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": params or [],
        "responses": {status: ok, **ERRORS},
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Livepanel API", "version": "1"},
    "paths": {
        "/api/v1/events": {
            "get": _op(
                "Public events",
                _json(
                    {
                        "type": "object",
                        "properties": {"events": {"type": "array", "items": _ref("EventSummary")}},
                    },
                    "Events, soonest first",
                ),
            )
        },
        "/api/v1/events/{slug}": {
            "get": _op(
                "One event: slots, panelists, who is on now, last_seq",
                _json(_ref("Event"), "The event"),
                params=[SLUG],
            )
        },
        "/api/v1/events/{slug}/questions": {
            "get": _op(
                "Questions (approved; pending or rejected for editors; mine=1 own)",
                _json(
                    {
                        "type": "object",
                        "properties": {"questions": {"type": "array", "items": _ref("Question")}},
                    },
                    "Questions",
                ),
                params=[
                    SLUG,
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["approved", "pending", "rejected"]},
                    },
                    {"name": "mine", "in": "query", "schema": {"type": "string"}},
                ],
            ),
            "post": _op(
                "Ask a question (Idempotency-Key header makes retries safe)",
                _json(
                    {
                        "type": "object",
                        "required": ["id", "status"],
                        "properties": {"id": {"type": "integer"}, "status": {"type": "string"}},
                    },
                    "Stored (or the earlier one for a repeated key)",
                ),
                params=[
                    SLUG,
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "schema": {"type": "string", "maxLength": 200},
                    },
                ],
                body=_ref("NewQuestion"),
                status="201",
            ),
        },
        "/api/v1/questions/{question_id}/upvote": {
            "post": _op(
                "Upvote once per reader",
                _json(
                    {
                        "type": "object",
                        "properties": {"id": {"type": "integer"}, "upvotes": {"type": "integer"}},
                    },
                    "New total",
                ),
                params=[QID],
            )
        },
        "/api/v1/questions/{question_id}/moderate": {
            "post": _op(
                "Moderate (editors)",
                _json(
                    {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "status": {"type": "string"},
                            "pinned": {"type": "boolean"},
                            "merged_into": {"type": ["integer", "null"]},
                        },
                    },
                    "The question now",
                ),
                params=[QID],
                body={
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
                        "into": {
                            "type": "integer",
                            "description": "merge: the question to keep (published or waiting)",
                        },
                        "reason": {"type": "string", "description": "reject: private reason"},
                        "asker_reason": {
                            "type": "string",
                            "enum": ["", *STANDARD_REASONS],
                            "description": "reject: a standard reason shown to the asker only",
                        },
                        "asker_note": {
                            "type": "string",
                            "maxLength": ASKER_NOTE_MAX_CHARS,
                            "description": "reject: free text shown to the asker only",
                        },
                        "body": {"type": "string", "description": "edit: the corrected text"},
                        "to": {
                            "type": ["integer", "null"],
                            "description": "direct: a panelist id, or null for anyone",
                        },
                    },
                },
            )
        },
        "/api/v1/questions/{question_id}/answers": {
            "post": _op(
                "Answer (panelists of the event, editors)",
                _json(
                    {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "question_id": {"type": "integer"},
                        },
                    },
                    "Stored",
                ),
                params=[QID],
                body={
                    "type": "object",
                    "required": ["body"],
                    "properties": {"body": {"type": "string", "maxLength": 20000}},
                },
                status="201",
            )
        },
        "/api/v1/answers/{answer_id}": {
            "post": _op(
                "Edit an answer (its author, or editors)",
                _json({"type": "object", "properties": {"id": {"type": "integer"}}}, "Edited"),
                params=[
                    {
                        "name": "answer_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                body={
                    "type": "object",
                    "required": ["body"],
                    "properties": {"body": {"type": "string"}},
                },
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
            )
        },
        "/api/v1/events/{slug}/stream": {
            "get": _op(
                "Public frames after since (the polling twin of the WebSocket)",
                _json(
                    {
                        "type": "object",
                        "properties": {
                            "frames": {"type": "array", "items": _ref("Frame")},
                            "last_seq": {"type": "integer"},
                            "more": {"type": "boolean"},
                        },
                    },
                    "Frames",
                ),
                params=[
                    SLUG,
                    {"name": "since", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                ],
            )
        },
        "/api/v1/events/{slug}/reports": {
            "get": _op(
                "Readers' reports of published questions and answers (editors only)",
                _json(
                    {
                        "type": "object",
                        "properties": {"reports": {"type": "array", "items": {"type": "object"}}},
                    },
                    "Reports",
                ),
                params=[SLUG],
            )
        },
    },
    "components": {
        "schemas": {
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
                    "status": {
                        "type": "string",
                        "enum": ["scheduled", "live", "closed", "published"],
                    },
                    "starts_at": {"type": "string", "format": "date-time"},
                    "ends_at": {"type": "string", "format": "date-time"},
                    "timezone": {"type": "string"},
                    "moderation": {"type": "string"},
                    "last_seq": {"type": "integer"},
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
                            "core_panel": {"type": "array"},
                            "panelists": {"type": "array"},
                            "on_now": {"type": "array"},
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
                    "body": {"type": "string", "minLength": 1, "maxLength": 2000},
                    "name": {"type": "string", "maxLength": 60},
                    "to": {"type": ["integer", "null"]},
                    "client_key": {"type": "string", "maxLength": 200},
                },
            },
            "Question": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "body": {"type": "string"},
                    "name": {"type": "string"},
                    "status": {"type": "string"},
                    "created_at": {"type": "string"},
                    "to": {"type": ["object", "null"]},
                    "pinned": {"type": "boolean"},
                    "upvotes": {"type": "integer"},
                    "answered": {"type": "boolean"},
                    "merged_into": {"type": ["integer", "null"]},
                    "answers": {"type": "array"},
                },
            },
            "Frame": {
                "type": "object",
                "required": ["type", "at", "data"],
                "properties": {
                    "seq": {"type": "integer"},
                    "type": {"type": "string"},
                    "at": {"type": "string", "format": "date-time"},
                    "data": {"type": "object"},
                },
            },
        }
    },
}
