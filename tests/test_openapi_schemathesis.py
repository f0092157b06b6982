"""schemathesis against the OpenAPI document a real server serves: calls generated from the
document, sent over HTTP to uvicorn on a real SQLite file with seeded data, as an anonymous
reader, as a panelist of the event and as an editor with an API token. No call may get a 5xx,
and every response must match the document (status, content type and body schema).

Bounded for CI: a few examples per operation, role and kind of path. A longer run on demand:
LIVEPANEL_SCHEMATHESIS_EXAMPLES=200 python -m pytest tests/test_openapi_schemathesis.py
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from panel.config import Settings
from panel.domain import Actor
from tests.conftest import LiveServer
from tests.test_security import World, build_world

EXAMPLES = int(os.environ.get("LIVEPANEL_SCHEMATHESIS_EXAMPLES", "6"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """The usual test settings, with rate limits far above what the run sends: it should
    reach the code behind them, not spend itself on 429s."""
    return Settings(
        db_url=db_url,
        secret="test-secret-not-for-production",
        uploads_dir=tmp_path / "uploads",
        presence_interval=0.2,
        questions_per_minute_reader=100_000,
        questions_per_minute_ip=100_000,
        upvotes_per_minute_ip=100_000,
    )


def roles(server: LiveServer, world: World) -> dict[str, dict[str, Any]]:
    """The headers and cookies of each caller: anonymous, panelist of alpha, editor (token)."""
    editor_id = server.call(lambda: server.actions.create_editor("eddie", "a" * 20))
    token = server.call(
        lambda: server.actions.create_api_token(editor_id, "cms", Actor("editor", editor_id))
    )
    invite = server.call(
        lambda: server.actions.create_invite(world.alpha["id"], world.alpha["core"][0])
    )
    with httpx.Client(base_url=server.url, timeout=15) as client:
        assert client.get(f"/invite/{invite}").status_code == 303
        cookie = client.cookies["livepanel"]
    return {
        "anonymous": {},
        "panelist": {"cookies": {"livepanel": cookie}},
        "editor": {"headers": {"Authorization": f"Bearer {token}"}},
    }


def real_ids(world: World) -> dict[str, Any]:
    """Path parameters that name seeded data, so calls reach past the 404s."""
    return {
        "slug": world.alpha["slug"],
        "question_id": world.approved,
        "answer_id": world.answer,
    }


def run_operation(
    server: LiveServer,
    operation: Any,
    credentials: dict[str, Any],
    pinned: dict[str, Any],
    mode: GenerationMode,
) -> int:
    """Send up to EXAMPLES generated calls of one operation; the number sent. Negative mode
    sends what the document forbids (a float id, a text over its maxLength): a 4xx, never
    a 5xx."""
    strategy = operation.as_strategy(mode, path_parameters=pinned or None)
    sent = 0

    @hypothesis.given(case=strategy)
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,  # nothing written to .hypothesis/ by the suite
        derandomize=True,  # the same calls on every CI run
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        nonlocal sent
        response = case.call(base_url=server.url, timeout=15, **credentials)
        sent += 1
        case.validate_response(response, checks=CHECKS)

    try:
        call()
    except hypothesis.errors.Unsatisfiable:
        # Negative mode has nothing to break in an operation without inputs (GET /events).
        assert mode is GenerationMode.NEGATIVE and sent == 0, operation.label
    return sent


@pytest.mark.parametrize("role", ["anonymous", "panelist", "editor"])
def test_generated_calls_get_no_5xx_and_match_the_document(server: LiveServer, role: str) -> None:
    world = asyncio.run(build_world(server))
    credentials = roles(server, world)[role]
    with httpx.Client(base_url=server.url, timeout=15) as client:
        document = client.get("/api/v1/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10, "the document lost operations"
    sent = 0
    ids = real_ids(world)
    for operation in operations:
        params = {p.name for p in operation.path_parameters}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            sent += run_operation(server, operation, credentials, {}, mode)
            if params:  # once more on real data
                real = {k: ids[k] for k in params}
                sent += run_operation(server, operation, credentials, real, mode)
    assert sent >= len(operations) * 2, sent  # the run did send calls


# Who may call each operation, as the document must declare it: written here, not read from
# the code. "anyone": no credentials; "optional": none, a token or a cookie; "staff": a
# bearer token or a session cookie is required.
ACCESS = {
    ("get", "/api/v1/events"): "anyone",
    ("get", "/api/v1/events/{slug}"): "anyone",
    ("get", "/api/v1/events/{slug}/stream"): "anyone",
    ("get", "/api/v1/events/{slug}/questions"): "optional",
    ("get", "/api/v1/me"): "optional",
    ("post", "/api/v1/events/{slug}/questions"): "reader",
    ("post", "/api/v1/questions/{question_id}/upvote"): "reader",
    ("post", "/api/v1/questions/{question_id}/moderate"): "staff",
    ("post", "/api/v1/questions/{question_id}/answers"): "staff",
    ("post", "/api/v1/answers/{answer_id}"): "staff",
    ("get", "/api/v1/events/{slug}/reports"): "staff",
}
SECURITY = {
    "anyone": [],
    "optional": [{}, {"bearer": []}, {"session": []}],
    "reader": [{}, {"session": []}],
    "staff": [{"bearer": []}, {"session": []}],
}


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        for part in node["$ref"].removeprefix("#/").split("/"):
            document = document[part]
        node = document
    return node


def test_the_document_declares_auth_and_every_limit(settings: Settings) -> None:
    """Bearer and cookie auth with `security` per operation; maxLength on every text a client
    sends; bounds on every number; the body limit; rate limits; every 4xx with the error
    schema, and Retry-After on 429 and 503."""
    from panel.web.openapi import document as build

    doc = build(settings)
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["session"]["in"] == "cookie" and schemes["session"]["name"] == "livepanel"
    operations = {
        (method, path): op for path, item in doc["paths"].items() for method, op in item.items()
    }
    assert set(operations) == set(ACCESS), "every operation has a row in ACCESS"
    for key, op in operations.items():
        assert op["security"] == SECURITY[ACCESS[key]], key
        assert op["x-access"], key
        for status in ("400", "401", "403", "404", "413", "422", "429"):
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert resolve(doc, schema)["required"] == ["error"], (key, status)
        for status in ("429", "503"):
            assert "Retry-After" in op["responses"][status]["headers"], (key, status)
        for param in op["parameters"]:
            check_bounded(doc, param["schema"], f"{key} {param['name']}")
        if "requestBody" in op:
            assert op["requestBody"]["x-max-body-bytes"] == 64 * 1024, key
            body = op["requestBody"]["content"]["application/json"]["schema"]
            for name, field in resolve(doc, body)["properties"].items():
                check_bounded(doc, field, f"{key} body.{name}")
    asking = operations[("post", "/api/v1/events/{slug}/questions")]
    assert asking["x-rate-limit"] == {
        "reader": settings.questions_per_minute_reader,
        "ip": settings.questions_per_minute_ip,
    }
    body = resolve(doc, asking["requestBody"]["content"]["application/json"]["schema"])
    assert body["properties"]["body"]["maxLength"] == settings.question_max_chars
    assert body["properties"]["name"]["maxLength"] == settings.name_max_chars
    upvote = operations[("post", "/api/v1/questions/{question_id}/upvote")]
    assert upvote["x-rate-limit"] == {"ip": settings.upvotes_per_minute_ip}


def check_bounded(doc: dict[str, Any], schema: dict[str, Any], where: str) -> None:
    """A string has a maxLength (or an enum); a number a minimum and a maximum."""
    schema = resolve(doc, schema)
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "string" in kinds and "enum" not in schema:
        assert "maxLength" in schema, f"{where}: text without maxLength"
    if "integer" in kinds or "number" in kinds:
        assert "minimum" in schema and "maximum" in schema, f"{where}: number without bounds"
