"""聯絡簿管理 > 機關聯絡簿: list with filters, 新增, 編輯 (附件 刪除 and add), 刪除 (確認刪除?)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import contactbook
from contactbook.errors import ContactBookError, ValidationError

from .backoffice import facility_choices
from .common import (
    book_of,
    call,
    day_of,
    error_context,
    flash,
    read_form,
    redirect,
    render,
    staff,
    text,
    uploads_of,
    version_of,
)

__all__ = ["routes"]

MAX_ATTACHMENTS = 3
"""附件一 … 附件三."""


def _audience(value: str) -> contactbook.Audience | None:
    """發佈對象: "" (--請選擇--: one's own facility, or everyone for the Agency)."""
    if not value or value == "keep":
        return None
    if value == "everyone":
        return contactbook.Audience.everyone()
    if value.startswith("facility:"):
        return contactbook.Audience.facility(value.removeprefix("facility:"))
    raise ValidationError("invalid_value", fields={"audience": "invalid_value"})


def _audience_value(audience: contactbook.Audience) -> str:
    scope = str(audience.scope)
    if scope == "everyone":
        return "everyone"
    if scope == "facility":
        return f"facility:{audience.facility_code}"
    return "keep"


async def _form_context(
    request: Request, principal: contactbook.StaffPrincipal, **extra: Any
) -> dict[str, Any]:
    member = await call(book_of(request).staff.get, principal)
    return {
        "facilities": await facility_choices(request, principal),
        "agency": member.facility_code is None,
        "kinds": list(contactbook.NoticeKind),
        **extra,
    }


async def notice_list(request: Request) -> Response:
    principal = await staff(request)
    q = request.query_params
    context: dict[str, Any] = {
        "facilities": await facility_choices(request, principal),
        "facility": q.get("facility", ""),
        "date_from": q.get("from", ""),
        "date_to": q.get("to", ""),
    }
    try:
        context["page"] = await call(
            book_of(request).notices.list_admin,
            principal,
            facility=q.get("facility") or None,
            published_from=day_of(q.get("from", ""), "from"),
            published_to=day_of(q.get("to", ""), "to"),
            cursor=q.get("cursor"),
        )
    except ValidationError as exc:
        context.update(error_context(request, exc))
        return render(request, "admin/notices.html", context, status=400)
    return render(request, "admin/notices.html", context)


async def notice_new(request: Request) -> Response:
    """發佈機關聯絡簿: 發佈類型, 發佈對象, 標題, 內容, 附件 ×3, 確認 / 放棄."""
    principal = await staff(request)
    if request.method == "GET":
        return render(request, "admin/notice_form.html", await _form_context(request, principal))
    form = await read_form(request)
    try:
        draft = contactbook.NoticeDraft(
            title=text(form, "title"),
            body=text(form, "body"),
            audience=_audience(text(form, "audience")),
            attachments=uploads_of(form, "attachments"),
        )
        await call(book_of(request).notices.publish, principal, draft)
    except ContactBookError as exc:
        context = await _form_context(
            request,
            principal,
            title=text(form, "title"),
            body=text(form, "body"),
            audience=text(form, "audience"),
            **error_context(request, exc),
        )
        return render(request, "admin/notice_form.html", context, status=400)
    return render(
        request,
        "admin/done.html",
        {
            "heading": ("新增機關聯絡簿", "New notice"),
            "message": ("機關聯絡簿已新增成功", "The notice was published."),
        },
    )


async def notice_edit(request: Request) -> Response:
    """機關聯絡簿修改; 刪除 beside an attachment removes it and stays on the page."""
    principal = await staff(request)
    book = book_of(request)
    notice_id = request.path_params["notice_id"]
    context: dict[str, Any] = {}
    if request.method == "POST":
        form = await read_form(request)
        removing = text(form, "remove")
        try:
            changes = contactbook.NoticeChanges(
                title=text(form, "title"),
                body=text(form, "body"),
                audience=_audience(text(form, "audience")),
                remove_attachments=[removing] if removing else [],
                add_attachments=uploads_of(form, "attachments"),
            )
            await call(book.notices.edit, principal, notice_id, changes, version_of(form))
        except ContactBookError as exc:
            context.update(error_context(request, exc))
        else:
            if removing:
                flash(request, "附件已刪除。", "The attachment was removed.")
                return redirect(f"/admin/notices/{notice_id}/edit")
            return render(
                request,
                "admin/done.html",
                {
                    "heading": ("機關聯絡簿編輯", "Edit notice"),
                    "message": ("機關聯絡簿已修改", "The notice was changed."),
                },
            )
    item = await call(book.notices.get_admin, principal, notice_id)
    context = await _form_context(
        request,
        principal,
        item=item,
        title=item.title,
        body=item.body,
        audience=_audience_value(item.audience),
        free_slots=max(0, MAX_ATTACHMENTS - len(item.attachments)),
        **context,
    )
    return render(
        request, "admin/notice_form.html", context, status=400 if "error" in context else 200
    )


async def notice_delete(request: Request) -> Response:
    """確認刪除? on its own page (no script needed), then 機關聯絡簿已刪除."""
    principal = await staff(request)
    book = book_of(request)
    notice_id = request.path_params["notice_id"]
    if request.method == "GET":
        item = await call(book.notices.get_admin, principal, notice_id)
        return render(request, "admin/notice_delete.html", {"item": item})
    await read_form(request)
    await call(book.notices.delete, principal, notice_id)
    flash(request, "機關聯絡簿已刪除", "The notice was deleted.")
    return redirect("/admin/notices")


routes = [
    Route("/admin/notices", notice_list),
    Route("/admin/notices/new", notice_new, methods=["GET", "POST"]),
    Route("/admin/notices/{notice_id}/edit", notice_edit, methods=["GET", "POST"]),
    Route("/admin/notices/{notice_id}/delete", notice_delete, methods=["GET", "POST"]),
]
