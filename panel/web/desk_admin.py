"""The desk's account pages: your own account (password), editors (admins only: roles,
disable, unlock, remove) and API tokens for integrations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from panel.accounts import Accounts
from panel.domain import Actor, RuleError
from panel.web.auth import require_editor
from panel.web.base import editor_session, perform, read_form, render, services


async def require_admin(request: Request) -> Actor:
    actor = await require_editor(request)
    async with services(request).store.read() as repo:
        editor = await repo.editor_by_id(int(actor.id or 0))
    if editor is None or editor["role"] != "admin":
        raise RuleError("forbidden", "Only admins manage editors.")
    return actor


async def editors_page(request: Request) -> Response:
    actor = await require_admin(request)
    svc = services(request)
    async with svc.store.read() as repo:
        rows = await repo.editors()
    editors = []
    for row in rows:
        # Locked from some address, or slowed by failures from many (panel/lockouts.py).
        until = await svc.accounts.lockouts.locked_until(str(row["username"]))
        editors.append(
            {
                **row,
                "self": row["id"] == actor.id,
                "locked": until is not None,
                "locked_until": until.strftime("%H:%M") if until else None,
            }
        )
    return render(
        request,
        "desk_editors.html",
        {"editors": editors, "notice": request.session.pop("notice", None)},
    )


# An admin's actions on another editor's account: (the action, the notice on success).
ACCOUNT_ACTIONS: dict[str, tuple[Callable[[Accounts, int, Actor], Awaitable[None]], str]] = {
    "disable": (
        lambda accounts, editor_id, actor: accounts.set_disabled(editor_id, True, actor),
        "Account disabled. Its sessions are signed out and its API tokens stop working.",
    ),
    "enable": (
        lambda accounts, editor_id, actor: accounts.set_disabled(editor_id, False, actor),
        "Account enabled.",
    ),
    "unlock": (Accounts.unlock, "Account unlocked."),
    "remove": (
        Accounts.remove_editor,
        "Account removed. Its sessions are signed out and its API tokens deleted.",
    ),
}


async def account_action(request: Request) -> Response:
    actor = await require_admin(request)
    await read_form(request)
    action = ACCOUNT_ACTIONS.get(request.path_params["action"])
    if action is None:
        raise RuleError("not_found", "No such action.")
    run, success = action
    return await perform(
        request,
        run(services(request).accounts, request.path_params["editor_id"], actor),
        "/desk/editors",
        success,
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


async def account_page(request: Request) -> Response:
    """Your own account: change your password."""
    if await editor_session(request) is None:
        return RedirectResponse("/desk/login", status_code=303)
    return render(request, "desk_account.html", {"notice": request.session.pop("notice", None)})


async def change_password(request: Request) -> Response:
    """A new password, given the current one; signs out every other session of this editor."""
    session = await editor_session(request)
    if session is None:
        raise RuleError("unauthorized", "Sign in as an editor first.")
    form = await read_form(request)
    svc = services(request)
    new = str(form.get("new_password", ""))

    async def act() -> None:
        # Guessing the current password from a borrowed session is limited like signing in.
        ip = request.client.host if request.client else "unknown"
        if wait := await svc.login_limiter.retry_after(f"password:{ip}"):
            raise RuleError("rate_limited", f"Too many attempts; wait {wait} seconds.")
        if new != form.get("confirm_password"):
            raise RuleError("invalid", "The new password and its confirmation differ.")
        await svc.accounts.change_password(session, str(form.get("current_password", "")), new)

    return await perform(
        request,
        act(),
        "/desk/account",
        "Password changed. Your other sessions are signed out.",
    )


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
