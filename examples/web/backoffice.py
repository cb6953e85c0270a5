"""便民服務後臺管理系統: staff login (+ TOTP), 家庭聯絡簿審查, 交付收容人, 服務項目管理."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import contactbook
from contactbook.errors import ContactBookError, NotFound, PermissionDenied, ValidationError

from .common import (
    book_of,
    call,
    choice,
    day_of,
    error_context,
    flash,
    read_form,
    redirect,
    render,
    session_of,
    staff,
    text,
    version_of,
)
from .security import download_response

__all__ = ["facility_choices", "routes"]

MAX_TOTP_FAILURES = 5


# -- login and TOTP -------------------------------------------------------------------


async def login(request: Request) -> Response:
    """Username, password and, once enrolled, the authenticator's code on one form: the
    library checks all three in one call, so the web never keeps a password between
    pages. A first sign-in where TOTP is required goes on to enrollment."""
    if request.method == "GET":
        return render(request, "admin/login.html")
    form = await read_form(request)
    username = text(form, "username")
    code = text(form, "code") or None
    try:
        principal = await call(
            book_of(request).staff.authenticate, username, text(form, "password"), code
        )
    except ContactBookError as exc:
        context = {"username": username, **error_context(request, exc)}
        return render(request, "admin/login.html", context, status=400)
    session = session_of(request)
    session.rotate()
    session["staff_id"] = principal.staff_id
    if principal.totp_enrollment_required:
        session.update(staff_ok=False, staff_session_version=principal.session_version)
        return redirect("/admin/totp")
    await _signed_in(request, principal)
    return redirect("/admin")


async def _signed_in(request: Request, principal: contactbook.StaffPrincipal) -> None:
    member = await call(book_of(request).staff.get, principal)
    session = session_of(request)
    session.rotate()
    session.update(
        staff_id=principal.staff_id,
        staff_ok=True,
        staff_name=member.name,
        staff_session_version=principal.session_version,
    )


async def totp(request: Request) -> Response:
    """First sign-in with TOTP required: the library's enrollment (a new key and ten
    recovery codes, shown once), finished by a code from the authenticator."""
    staff_id = request.session.get("staff_id")
    version = request.session.get("staff_session_version")
    if (
        not isinstance(staff_id, str)
        or not isinstance(version, int)
        or request.session.get("staff_ok")
    ):
        return redirect("/admin/login")
    principal = contactbook.StaffPrincipal(
        staff_id, totp_enrollment_required=True, session_version=version
    )
    book = book_of(request)
    if not await call(book.staff.session_valid, principal):  # reset, cleared or closed since
        session_of(request).end()
        return redirect("/admin/login")
    if "totp_secret" not in request.session:
        try:
            enrollment = await call(book.staff.enroll_totp, principal)
        except (PermissionDenied, NotFound):  # enrolled or closed meanwhile: sign in again
            session_of(request).rotate()
            return redirect("/admin/login")
        request.session.update(
            totp_secret=enrollment.secret,
            totp_uri=enrollment.provisioning_uri,
            totp_recovery=list(enrollment.recovery_codes),
        )
    context: dict[str, Any] = {
        "secret": request.session["totp_secret"],
        "uri": request.session["totp_uri"],
        "recovery_codes": request.session["totp_recovery"],
    }
    if request.method == "GET":
        return render(request, "admin/totp.html", context)
    form = await read_form(request)
    try:
        full = await call(book.staff.confirm_totp, principal, text(form, "code"))
    except (PermissionDenied, NotFound):  # the session was ended or the account closed
        session_of(request).rotate()
        return redirect("/admin/login")
    except ContactBookError as exc:
        failures = int(request.session.get("totp_failures", 0)) + 1
        if failures >= MAX_TOTP_FAILURES:
            session_of(request).rotate()
            return redirect("/admin/login")
        request.session["totp_failures"] = failures
        return render(request, "admin/totp.html", {**context, **error_context(request, exc)}, 400)
    await _signed_in(request, full)
    return redirect("/admin")


async def logout(request: Request) -> Response:
    await read_form(request)
    session_of(request).rotate()
    return redirect("/admin/login")


async def home(request: Request) -> Response:
    principal = await staff(request)
    member = await call(book_of(request).staff.get, principal)
    return render(request, "admin/home.html", {"member": member})


async def facility_choices(request: Request, principal: contactbook.StaffPrincipal) -> list[Any]:
    """機關名稱 choices: every facility for Agency staff, one's own otherwise."""
    book = book_of(request)
    member = await call(book.staff.get, principal)
    facilities = await call(book.facilities.list)
    if member.facility_code is None:
        return facilities
    return [f for f in facilities if f.code == member.facility_code]


# -- 家庭聯絡簿審查 -------------------------------------------------------------------


async def review_queue(request: Request) -> Response:
    """機關名稱, 審核狀態, 申請日期 range → 照片, 矯正機關, 內容, 發佈日期, 狀態, 審核."""
    principal = await staff(request)
    q = request.query_params
    status_value = q.get("status", "pending")
    context: dict[str, Any] = {
        "facilities": await facility_choices(request, principal),
        "statuses": list(contactbook.PostStatus),
        "facility": q.get("facility", ""),
        "status": status_value,
        "date_from": q.get("from", ""),
        "date_to": q.get("to", ""),
    }
    try:
        status = (
            None
            if status_value == "all"
            else choice(contactbook.PostStatus, status_value, "status")
        )
        page = await call(
            book_of(request).moderation.queue,
            principal,
            facility=q.get("facility") or None,
            status=status,
            submitted_from=day_of(q.get("from", ""), "from"),
            submitted_to=day_of(q.get("to", ""), "to"),
            cursor=q.get("cursor"),
        )
    except ValidationError as exc:
        context.update(error_context(request, exc))
        return render(request, "admin/posts.html", context, status=400)
    context["page"] = page
    return render(request, "admin/posts.html", context)


async def review_sheet(request: Request) -> Response:
    """收容人資訊, 家屬資訊, 聯絡簿內容, then 審核結果 and 不通過原因."""
    principal = await staff(request)
    book = book_of(request)
    post_id = request.path_params["post_id"]
    context: dict[str, Any] = {}
    if request.method == "POST":
        form = await read_form(request)
        version = version_of(form)
        try:
            if text(form, "result") == "approve":
                await call(book.moderation.approve, principal, post_id, version)
                flash(request, "審核完成：審核通過。", "Reviewed: approved.")
            else:
                reason = choice(
                    contactbook.PostRejectionReason,
                    text(form, "reason"),
                    "reason",
                    missing="rejection_reason_required",
                )
                await call(
                    book.moderation.reject, principal, post_id, reason, text(form, "note"), version
                )
                flash(request, "審核完成：審核未通過。", "Reviewed: not approved.")
            return redirect("/admin/posts")
        except ContactBookError as exc:
            context.update(error_context(request, exc))
            context.update(
                result=text(form, "result"), reason=text(form, "reason"), note=text(form, "note")
            )
    context["sheet"] = await call(book.moderation.open, principal, post_id)
    context["reasons"] = list(contactbook.PostRejectionReason)
    return render(request, "admin/review.html", context, status=400 if "error" in context else 200)


async def post_attachment(request: Request) -> Response:
    principal = await staff(request)
    download = await call(
        book_of(request).moderation.attachment,
        principal,
        request.path_params["post_id"],
        request.path_params["attachment_id"],
    )
    return download_response(download, inline=request.query_params.get("inline") == "1")


# -- 交付收容人 -----------------------------------------------------------------------


async def delivery(request: Request) -> Response:
    principal = await staff(request)
    book = book_of(request)
    if request.method == "POST":
        form = await read_form(request)
        await call(book.delivery.mark_delivered, principal, text(form, "post_id"))
        flash(request, "已交付收容人查閱。", "Marked as handed to the inmate.")
        return redirect("/admin/delivery")
    page = await call(book.delivery.pending, principal, cursor=request.query_params.get("cursor"))
    return render(request, "admin/delivery.html", {"page": page})


# -- 服務項目管理 -----------------------------------------------------------------------


async def applications(request: Request) -> Response:
    principal = await staff(request)
    q = request.query_params
    status_value = q.get("status", "pending")
    status = (
        None
        if status_value == "all"
        else choice(contactbook.ApplicationStatus, status_value, "status")
    )
    page = await call(
        book_of(request).applications.queue,
        principal,
        facility=q.get("facility") or None,
        status=status,
        cursor=q.get("cursor"),
    )
    context = {
        "page": page,
        "facilities": await facility_choices(request, principal),
        "statuses": list(contactbook.ApplicationStatus),
        "facility": q.get("facility", ""),
        "status": status_value,
    }
    return render(request, "admin/applications.html", context)


async def application_sheet(request: Request) -> Response:
    principal = await staff(request)
    book = book_of(request)
    application_id = request.path_params["application_id"]
    context: dict[str, Any] = {}
    if request.method == "POST":
        form = await read_form(request)
        version = version_of(form)
        try:
            if text(form, "result") == "approve":
                services = frozenset(
                    choice(contactbook.Service, v, "services")
                    for v in form.getlist("services")
                    if isinstance(v, str)
                )
                await call(
                    book.applications.approve, principal, application_id, services or None, version
                )
                flash(request, "服務項目申請已審核通過。", "The application was approved.")
            else:
                reason = choice(
                    contactbook.ApplicationRejectionReason, text(form, "reason"), "reason"
                )
                await call(
                    book.applications.reject,
                    principal,
                    application_id,
                    reason,
                    text(form, "note"),
                    version,
                )
                flash(request, "服務項目申請已審核未通過。", "The application was not approved.")
            return redirect("/admin/applications")
        except ContactBookError as exc:
            context.update(error_context(request, exc))
    context["sheet"] = await call(book.applications.open, principal, application_id)
    context["reasons"] = list(contactbook.ApplicationRejectionReason)
    context["services"] = list(contactbook.Service)
    return render(
        request, "admin/application.html", context, status=400 if "error" in context else 200
    )


async def evidence(request: Request) -> Response:
    principal = await staff(request)
    download = await call(
        book_of(request).applications.evidence,
        principal,
        request.path_params["application_id"],
        request.path_params["file_id"],
    )
    return download_response(download, inline=request.query_params.get("inline") == "1")


routes = [
    Route("/admin/login", login, methods=["GET", "POST"]),
    Route("/admin/totp", totp, methods=["GET", "POST"]),
    Route("/admin/logout", logout, methods=["POST"]),
    Route("/admin", home),
    Route("/admin/posts", review_queue),
    Route("/admin/posts/{post_id}", review_sheet, methods=["GET", "POST"]),
    Route("/admin/posts/{post_id}/attachments/{attachment_id}", post_attachment),
    Route("/admin/delivery", delivery, methods=["GET", "POST"]),
    Route("/admin/applications", applications),
    Route("/admin/applications/{application_id}", application_sheet, methods=["GET", "POST"]),
    Route("/admin/applications/{application_id}/evidence/{file_id}", evidence),
]
