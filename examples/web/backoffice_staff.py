"""人員管理: the staff accounts an admin manages, their roles, deactivation, password
resets, lost authenticators; and the page a reset link opens, where the member alone
chooses the new password.

The library decides who may do what (admins only, within their scope); these pages
show its refusals as they come.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import contactbook
from contactbook.errors import ContactBookError, InvalidToken

from .backoffice import facility_choices
from .common import (
    book_of,
    call,
    choice,
    error_context,
    flash,
    lang_of,
    link_values,
    read_form,
    redirect,
    render,
    return_to,
    session_of,
    staff,
    status_of,
    take_link,
    text,
)

__all__ = ["routes"]

RESET_PATH = "/staff/reset-password"
_PENDING_RESET = "staff_reset"


def _back_to_list(facility: str) -> str:
    """The list, with the facility filter the form was sent from."""
    return "/admin/staff" + (f"?{urlencode({'facility': facility})}" if facility else "")


async def _list_page(
    request: Request,
    principal: contactbook.StaffPrincipal,
    facility: str,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    book = book_of(request)
    members = await call(book.staff.members, principal, facility or None)
    me = await call(book.staff.get, principal)
    agency = me.facility_code is None  # only the Agency's admins have facilities to choose
    context: dict[str, Any] = {
        "members": members,
        "me": me,
        "facilities": await facility_choices(request, principal) if agency else [],
        "facility": facility,
        "roles": list(contactbook.Role),
        **(extra or {}),
    }
    return_to(request, _back_to_list(facility))  # also when answering an action's POST
    return render(request, "admin/staff.html", context, status=status)


async def staff_list(request: Request) -> Response:
    """帳號, 姓名, 機關, 角色, 兩步驟驗證, 狀態, then per row 重設密碼 and 清除兩步驟驗證
    (active members), 變更角色 and 停用 or 重新啟用 (members other than oneself)."""
    principal = await staff(request)
    return await _list_page(request, principal, request.query_params.get("facility", ""))


async def start_reset(request: Request) -> Response:
    """重設密碼: the link goes to the member's e-mail; without one, the one-time token
    is shown to the admin here, once, to hand over in person."""
    principal = await staff(request)
    form = await read_form(request)
    facility = text(form, "facility")
    book = book_of(request)
    member_id = request.path_params["staff_id"]
    try:
        ticket = await call(book.staff.start_reset, principal, member_id)
    except ContactBookError as exc:
        return await _list_page(
            request, principal, facility, error_context(request, exc), status_of(exc)
        )
    if ticket.mailed_to is not None:
        flash(
            request,
            f"重設連結已寄至 {ticket.mailed_to}。",
            f"A reset link was sent to {ticket.mailed_to}.",
        )
        return redirect(_back_to_list(facility))
    members = await call(book.staff.members, principal)
    member = next((m for m in members if m.id == member_id), None)
    back = _back_to_list(facility)
    return_to(request, back)  # the token is shown once: the language links go to the list
    context = {
        "member": member,
        "token": ticket.token,
        "link": ticket.link,  # the link the mail would have carried
        "back": back,
    }
    return render(request, "admin/staff_reset.html", context)


async def clear_totp(request: Request) -> Response:
    """清除兩步驟驗證: the member enrolls again at the next sign-in."""
    principal = await staff(request)
    form = await read_form(request)
    facility = text(form, "facility")
    try:
        await call(book_of(request).staff.clear_totp, principal, request.path_params["staff_id"])
    except ContactBookError as exc:
        return await _list_page(
            request, principal, facility, error_context(request, exc), status_of(exc)
        )
    flash(
        request,
        "已清除兩步驟驗證；該人員已被登出，下次登入時需重新設定。",
        "Two-step verification was cleared; the member was signed out and sets it up "
        "again at the next sign-in.",
    )
    return redirect(_back_to_list(facility))


MemberChange = Callable[[contactbook.StaffPrincipal, str, FormData], Awaitable[Any]]
"""A change of the library to another member's account; the member's ``StaffView``."""


async def _change_member(request: Request, change: MemberChange, done: tuple[str, str]) -> Response:
    """變更角色, 停用, 重新啟用: back to the list (its filter kept) with ``done``
    ({username} filled in), or the list with the library's refusal."""
    principal = await staff(request)
    form = await read_form(request)
    facility = text(form, "facility")
    try:
        member = await change(principal, request.path_params["staff_id"], form)
    except ContactBookError as exc:
        return await _list_page(
            request, principal, facility, error_context(request, exc), status_of(exc)
        )
    zh, en = done
    flash(request, zh.format(username=member.username), en.format(username=member.username))
    return redirect(_back_to_list(facility))


async def set_roles(request: Request) -> Response:
    """變更角色: exactly the roles ticked (at least one); they apply from the member's
    next page on, as the library reads the roles at every call."""
    book = book_of(request)

    async def change(principal: contactbook.StaffPrincipal, member_id: str, form: FormData) -> Any:
        ticked = [v for v in form.getlist("roles") if isinstance(v, str)]
        roles = [choice(contactbook.Role, value, "roles") for value in ticked]
        return await call(book.staff.set_roles, principal, member_id, roles)

    return await _change_member(
        request, change, ("已變更 {username} 的角色。", "The roles of {username} were changed.")
    )


async def deactivate(request: Request) -> Response:
    """停用: for a member who left; its sessions end, sign-in is refused and a started
    password reset is cancelled."""
    book = book_of(request)
    return await _change_member(
        request,
        lambda principal, member_id, _: call(book.staff.deactivate, principal, member_id),
        (
            "已停用 {username}：該人員已被登出，且無法再登入。",
            "{username} was deactivated: signed out, and can no longer sign in.",
        ),
    )


async def reactivate(request: Request) -> Response:
    """重新啟用: the member signs in again with the same password and second factor."""
    book = book_of(request)
    return await _change_member(
        request,
        lambda principal, member_id, _: call(book.staff.reactivate, principal, member_id),
        (
            "已重新啟用 {username}，可再以原密碼登入。",
            "{username} was reactivated and can sign in with the same password again.",
        ),
    )


async def reset_password(request: Request) -> Response:
    """The page the reset link opens (mailed, or handed over by an admin).

    The staff id and token of the link move into the session at once and the browser
    is sent on to the bare path, so the token does not stay in the address bar, the
    history, or the language links (which carry the page's URL); the form carries
    them in hidden fields. Nothing here logs them."""
    moved = take_link(request, _PENDING_RESET, ("staff", "token"))
    if moved is not None:
        return moved
    if request.method == "GET":
        link = link_values(request, _PENDING_RESET)
        if not link.get("token"):
            invalid = error_context(request, InvalidToken())
            return render(request, "admin/reset_password.html", invalid, status=400)
        return render(request, "admin/reset_password.html", link)
    form = await read_form(request)
    context: dict[str, Any] = {"staff": text(form, "staff"), "token": text(form, "token")}
    if text(form, "password") != text(form, "password_confirm"):
        mismatch = (
            "兩次輸入的密碼不一致。" if lang_of(request) != "en" else "The passwords do not match."
        )
        context.update(error=mismatch, field_errors={"password_confirm": mismatch})
        return render(request, "admin/reset_password.html", context, status=400)
    try:
        await call(
            book_of(request).staff.complete_reset,
            context["staff"],
            context["token"],
            text(form, "password"),
        )
    except ContactBookError as exc:
        context.update(error_context(request, exc))
        return render(request, "admin/reset_password.html", context, status=status_of(exc))
    session_of(request).rotate()  # the link is spent; nobody stays signed in here
    return render(request, "admin/reset_password.html", {"done": True})


routes = [
    Route("/admin/staff", staff_list),
    Route("/admin/staff/{staff_id}/reset", start_reset, methods=["POST"]),
    Route("/admin/staff/{staff_id}/clear-totp", clear_totp, methods=["POST"]),
    Route("/admin/staff/{staff_id}/roles", set_roles, methods=["POST"]),
    Route("/admin/staff/{staff_id}/deactivate", deactivate, methods=["POST"]),
    Route("/admin/staff/{staff_id}/reactivate", reactivate, methods=["POST"]),
    Route(RESET_PATH, reset_password, methods=["GET", "POST"]),
]
