"""The desk's account pages: editors (admins only) and API tokens for integrations."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from panel.domain import Actor, RuleError
from panel.web.auth import require_editor
from panel.web.base import perform, read_form, render, services


async def require_admin(request: Request) -> Actor:
    actor = await require_editor(request)
    async with services(request).store.read() as repo:
        editor = await repo.editor_by_id(int(actor.id or 0))
    if editor is None or editor["role"] != "admin":
        raise RuleError("forbidden", "Only admins manage editors.")
    return actor


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
    role = "admin" if form.get("role") == "admin" else "editor"
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    return await perform(
        request,
        services(request).accounts.create_editor(username, password, role=role, actor=actor),
        "/desk/editors",
        "Editor account created.",
    )


async def set_role(request: Request) -> Response:
    actor = await require_admin(request)
    form = await read_form(request)
    editor_id = request.path_params["editor_id"]

    async def act() -> None:
        if editor_id == actor.id:
            raise RuleError("invalid", "You cannot change your own role.")
        await services(request).accounts.set_editor_role(
            editor_id, str(form.get("role", "")), actor
        )

    return await perform(request, act(), "/desk/editors", "Role changed.")


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

    async def act() -> None:
        token = await services(request).accounts.create_api_token(
            int(actor.id or 0), form.get("name"), actor
        )
        request.session["new_token"] = token  # shown once, on the next page only

    return await perform(
        request, act(), "/desk/tokens", "Token created. Copy it now: it will not be shown again."
    )


async def revoke_token(request: Request) -> Response:
    actor = await require_editor(request)
    await read_form(request)
    return await perform(
        request,
        services(request).accounts.revoke_api_token(request.path_params["token_id"], actor),
        "/desk/tokens",
        "Token revoked.",
    )
