"""The desk's account pages: editors (admins only) and API tokens for integrations."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from panel.domain import RuleError
from panel.lookups import Actor
from panel.web.auth import require_editor
from panel.web.base import read_form, render, services


async def require_admin(request: Request) -> Actor:
    actor = await require_editor(request)
    async with services(request).store.read() as repo:
        editor = await repo.editor_by_id(int(actor.id or 0))
    if editor is None or editor["role"] != "admin":
        raise RuleError("forbidden", "Only admins manage editors.")
    return actor


def _back(request: Request, path: str, notice: str) -> Response:
    request.session["notice"] = notice
    return RedirectResponse(path, status_code=303)


async def editors_page(request: Request) -> Response:
    await require_admin(request)
    async with services(request).store.read() as repo:
        editors = await repo.editors()
    return render(
        request,
        "desk_editors.html",
        {"editors": editors, "notice": request.session.pop("notice", None)},
    )


async def create_editor(request: Request) -> Response:
    actor = await require_admin(request)
    form = await read_form(request)
    try:
        await services(request).actions.create_editor(
            str(form.get("username", "")),
            str(form.get("password", "")),
            role="admin" if form.get("role") == "admin" else "editor",
            actor=actor,
        )
    except RuleError as exc:
        return _back(request, "/desk/editors", exc.message)
    return _back(request, "/desk/editors", "Editor account created.")


async def set_role(request: Request) -> Response:
    actor = await require_admin(request)
    form = await read_form(request)
    editor_id = request.path_params["editor_id"]
    if editor_id == actor.id:
        return _back(request, "/desk/editors", "You cannot change your own role.")
    try:
        await services(request).actions.set_editor_role(editor_id, str(form.get("role", "")), actor)
    except RuleError as exc:
        return _back(request, "/desk/editors", exc.message)
    return _back(request, "/desk/editors", "Role changed.")


async def tokens_page(request: Request) -> Response:
    await require_editor(request)
    async with services(request).store.read() as repo:
        tokens = await repo.api_tokens()
    return render(
        request,
        "desk_tokens.html",
        {
            "tokens": tokens,
            "notice": request.session.pop("notice", None),
            "new_token": request.session.pop("new_token", None),
        },
    )


async def create_token(request: Request) -> Response:
    actor = await require_editor(request)
    form = await read_form(request)
    try:
        token = await services(request).actions.create_api_token(
            int(actor.id or 0), form.get("name"), actor
        )
    except RuleError as exc:
        return _back(request, "/desk/tokens", exc.message)
    request.session["new_token"] = token  # shown once, on the next page only
    return _back(request, "/desk/tokens", "Token created. Copy it now: it will not be shown again.")


async def revoke_token(request: Request) -> Response:
    actor = await require_editor(request)
    await read_form(request)
    try:
        await services(request).actions.revoke_api_token(request.path_params["token_id"], actor)
    except RuleError as exc:
        return _back(request, "/desk/tokens", exc.message)
    return _back(request, "/desk/tokens", "Token revoked.")
