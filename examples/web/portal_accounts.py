"""便民服務入口網: home, 註冊 (個資聲明 → form → 註冊成功), 帳號驗證, login, passwords, 個資."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import contactbook
from contactbook.errors import ContactBookError, InvalidToken, PermissionDenied, ValidationError

from .common import (
    book_of,
    call,
    error_context,
    family,
    flash,
    lang_of,
    link_values,
    read_form,
    redirect,
    render,
    safe_next,
    session_of,
    take_link,
    text,
)
from .i18n import LANGS
from .security import content_disposition

__all__ = ["routes"]

REGISTRATION_FIELDS = ("name", "birth_date", "national_id", "email", "mobile", "phone")


async def home(request: Request) -> Response:
    """首頁: 訊息公告 and 申辦流程."""
    return render(request, "portal/home.html")


async def switch_language(request: Request) -> Response:
    lang = request.path_params["lang"]
    if lang in LANGS:
        request.session["lang"] = lang
    return redirect(safe_next(request.query_params.get("next", "/")))


# -- 註冊 -------------------------------------------------------------------------


async def consent(request: Request) -> Response:
    """個人資料蒐集告知聲明 with the consent checkbox, then 下一步."""
    notice = await call(book_of(request).accounts.consent_notice)
    context: dict[str, object] = {"notice": notice}
    if request.method == "POST":
        form = await read_form(request)
        if text(form, "consent") == "yes":
            request.session["consent"] = notice.version
            return redirect("/register/form")
        error = ValidationError("consent_required", fields={"consent": "consent_required"})
        context.update(error_context(request, error))
        return render(request, "portal/consent.html", context, status=400)
    return render(request, "portal/consent.html", context)


async def register(request: Request) -> Response:
    """註冊帳號: the form; 註冊成功 names the (masked) address the link went to."""
    if not request.session.get("consent"):
        return redirect("/register")
    if request.method == "GET":
        return render(request, "portal/register.html", {"values": {}})
    form = await read_form(request)
    values = {name: text(form, name) for name in REGISTRATION_FIELDS}
    context: dict[str, object] = {"values": values}
    if text(form, "password") != text(form, "password_confirm"):
        context["field_errors"] = {
            "password_confirm": "兩次輸入的密碼不一致。"
            if lang_of(request) != "en"
            else "The passwords do not match."
        }
        return render(request, "portal/register.html", context, status=400)
    book = book_of(request)
    try:
        registration = book.structure(
            contactbook.RegistrationForm,
            {
                **values,
                "consent": True,
                "password": text(form, "password"),
                "notify_delivery": text(form, "notify_delivery"),
                "notify_notices": text(form, "notify_notices"),
            },
        )
        receipt = await call(book.accounts.register, registration)
    except ContactBookError as exc:
        context.update(error_context(request, exc))
        return render(request, "portal/register.html", context, status=400)
    request.session.pop("consent", None)
    return render(request, "portal/registered.html", {"masked_email": receipt.masked_email})


_VERIFY_LINK = "verify_link"
_RESET_LINK = "reset_link"


async def verify(request: Request) -> Response:
    """帳號驗證結果: the link in the registration mail (see ``take_link``). The result
    stays on this page, so it can be shown again in the other language."""
    moved = take_link(request, _VERIFY_LINK, ("token",))
    if moved is not None:
        return moved
    link = link_values(request, _VERIFY_LINK)
    if "token" in link:
        try:
            await call(book_of(request).accounts.verify_email, link["token"])
        except ContactBookError as exc:
            link = {"error": exc.code}
        else:
            link = {"verified": "yes"}
        request.session[_VERIFY_LINK] = link
    if link.get("verified"):
        return render(request, "portal/verified.html")
    refused = ContactBookError(link.get("error") or InvalidToken.default_code)
    return render(request, "portal/verified.html", error_context(request, refused), status=400)


async def resend_verification(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "portal/resend.html")
    form = await read_form(request)
    try:
        await call(book_of(request).accounts.resend_verification, text(form, "email"))
    except ContactBookError as exc:
        return render(request, "portal/resend.html", error_context(request, exc), status=400)
    return render(request, "portal/resend.html", {"sent": True})


# -- login ---------------------------------------------------------------------------


async def login(request: Request) -> Response:
    next_path = safe_next(request.query_params.get("next", "/contactbook"))
    if request.method == "GET":
        return render(request, "portal/login.html", {"next": next_path})
    form = await read_form(request)
    email = text(form, "email")
    book = book_of(request)
    context: dict[str, object] = {"next": next_path, "email": email}
    try:
        principal = await call(book.accounts.authenticate, email, text(form, "password"))
        profile = await call(book.accounts.profile, principal)
    except ContactBookError as exc:
        context.update(error_context(request, exc))
        context["unverified"] = isinstance(exc, PermissionDenied)
        return render(request, "portal/login.html", context, status=400)
    session = session_of(request)
    session.rotate()
    session["account_id"] = principal.account_id
    session["session_version"] = principal.session_version
    session["family_name"] = profile.name
    return redirect(next_path)


async def logout(request: Request) -> Response:
    await read_form(request)
    session = session_of(request)
    session.rotate()
    return redirect("/")


async def forgot_password(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "portal/forgot.html")
    form = await read_form(request)
    try:
        await call(book_of(request).accounts.forgot_password, text(form, "email"))
    except ContactBookError as exc:
        return render(request, "portal/forgot.html", error_context(request, exc), status=400)
    return render(request, "portal/forgot.html", {"sent": True})


async def reset_password(request: Request) -> Response:
    """重設密碼: the link in the reset mail (see ``take_link``)."""
    moved = take_link(request, _RESET_LINK, ("token",))
    if moved is not None:
        return moved
    if request.method == "GET":
        return render(
            request,
            "portal/reset.html",
            {"token": link_values(request, _RESET_LINK).get("token", "")},
        )
    form = await read_form(request)
    token = text(form, "token")
    if text(form, "password") != text(form, "password_confirm"):
        mismatch = (
            "兩次輸入的密碼不一致。" if lang_of(request) != "en" else "The passwords do not match."
        )
        return render(request, "portal/reset.html", {"token": token, "error": mismatch}, 400)
    try:
        await call(book_of(request).accounts.reset_password, token, text(form, "password"))
    except ContactBookError as exc:
        context = {"token": token, **error_context(request, exc)}
        return render(request, "portal/reset.html", context, status=400)
    session_of(request).rotate()
    flash(request, "密碼已重設，請重新登入。", "Your password was reset. Please sign in.")
    return redirect("/login")


# -- 個資 (profile, export, correction, deletion) ---------------------------------------


async def account(request: Request) -> Response:
    principal = await family(request)
    book = book_of(request)
    context: dict[str, object] = {}
    if request.method == "POST":
        form = await read_form(request)
        changes = contactbook.ProfileChanges(
            name=text(form, "name"),
            mobile=text(form, "mobile"),
            phone=text(form, "phone"),
            notify_delivery=text(form, "notify_delivery") == "yes",
            notify_notices=text(form, "notify_notices") == "yes",
        )
        try:
            profile = await call(book.accounts.update_profile, principal, changes)
        except ContactBookError as exc:
            context.update(error_context(request, exc))
        else:
            request.session["family_name"] = profile.name
            flash(request, "基本資料已更新。", "Your details were updated.")
            return redirect("/account")
    context["profile"] = await call(book.accounts.profile, principal)
    return render(
        request, "portal/account.html", context, status=400 if context.get("error") else 200
    )


async def account_export(request: Request) -> Response:
    """個資 複製本: everything held about the caller, as a zip (data.json + files)."""
    principal = await family(request)
    await read_form(request)
    export = await call(book_of(request).accounts.export_my_data, principal)
    return Response(
        export.stream.read(),
        media_type=export.content_type,
        headers={"Content-Disposition": content_disposition("我的個人資料.zip")},
    )


async def account_password(request: Request) -> Response:
    principal = await family(request)
    form = await read_form(request)
    book = book_of(request)
    try:
        if text(form, "new_password") != text(form, "new_password_confirm"):
            raise ValidationError("invalid_input", fields={"new_password_confirm": "invalid_value"})
        after = await call(
            book.accounts.change_password,
            principal,
            text(form, "old_password"),
            text(form, "new_password"),
        )
    except ContactBookError as exc:
        context = {
            "profile": await call(book.accounts.profile, principal),
            **error_context(request, exc),
        }
        return render(request, "portal/account.html", context, status=400)
    session = session_of(request)
    name = session.get("family_name", "")
    session.rotate()
    session.update(
        account_id=after.account_id, session_version=after.session_version, family_name=name
    )
    flash(
        request,
        "密碼已變更，其他裝置已登出。",
        "Password changed; your other sessions were signed out.",
    )
    return redirect("/account")


async def account_delete(request: Request) -> Response:
    principal = await family(request)
    form = await read_form(request)
    if text(form, "confirm") != "yes":
        flash(request, "請勾選確認後再送出刪除申請。", "Tick the confirmation to request deletion.")
        return redirect("/account")
    due = await call(book_of(request).accounts.request_deletion, principal)
    flash(
        request,
        f"已收到刪除個人資料申請，將於 {due:%Y/%m/%d} 前處理。",
        f"Deletion requested; it will be handled by {due:%Y/%m/%d}.",
    )
    return redirect("/account")


routes = [
    Route("/", home),
    Route("/lang/{lang}", switch_language),
    Route("/register", consent, methods=["GET", "POST"]),
    Route("/register/form", register, methods=["GET", "POST"]),
    Route("/verify", verify),
    Route("/resend-verification", resend_verification, methods=["GET", "POST"]),
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/forgot-password", forgot_password, methods=["GET", "POST"]),
    Route("/reset-password", reset_password, methods=["GET", "POST"]),
    Route("/account", account, methods=["GET", "POST"]),
    Route("/account/export", account_export, methods=["POST"]),
    Route("/account/password", account_password, methods=["POST"]),
    Route("/account/delete", account_delete, methods=["POST"]),
]
