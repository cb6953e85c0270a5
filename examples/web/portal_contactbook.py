"""家庭聯絡簿 (my posts, 新增, revise, withdraw), 查看機關聯絡簿 and 簡訊電子郵件紀錄."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import contactbook
from contactbook.errors import ContactBookError

from .common import (
    book_of,
    call,
    error_context,
    family,
    flash,
    read_form,
    redirect,
    render,
    text,
    uploads_of,
)
from .security import download_response

if TYPE_CHECKING:  # the library does not export its view types yet
    from contactbook.usecases._support.views import PostView

__all__ = ["routes"]

FILTERS = ("pending", "approved", "rejected", "expired")
"""審核狀態: 全部 / 待審核 / 審核通過 / 審核未通過 / 已過期."""


async def posts(request: Request) -> Response:
    principal = await family(request)
    book = book_of(request)
    chosen = request.query_params.get("status", "")
    status = contactbook.PostStatus(chosen) if chosen in FILTERS else None
    page = await call(book.posts.list_mine, principal, status, request.query_params.get("cursor"))
    targets = await call(book.posts.targets, principal)
    context = {
        "page": page,
        "status": chosen if status else "",
        "filters": [contactbook.PostStatus(f) for f in FILTERS],
        "targets": targets,
    }
    return render(request, "portal/posts.html", context)


def _limits(policy: contactbook.FacilityPolicy) -> dict[str, Any]:
    """What the form tells and checks in the browser: counters, file inputs, types."""
    profile = policy.attachment_profile
    photo_only = profile.context.value == "photo"
    return {
        "title_max": policy.title_max_chars,
        "body_max": policy.body_max_chars,
        "max_files": profile.max_files,
        "max_mb": profile.max_total_bytes // (1024 * 1024),
        "types": "JPG、JPEG、PNG" if photo_only else "PDF、JPG、JPEG、PNG",
        "accept": ".png,.jpg,.jpeg" if photo_only else ".pdf,.png,.jpg,.jpeg",
    }


async def _editor(
    request: Request,
    principal: contactbook.FamilyPrincipal,
    *,
    revising: PostView | None = None,
    **extra: Any,
) -> dict[str, Any]:
    book = book_of(request)
    targets = await call(book.posts.targets, principal)
    chosen = extra.get("inmate_id") or (revising.inmate_id if revising else "")
    target = next((t for t in targets if t.inmate_id == chosen), targets[0] if targets else None)
    facility = target.facility_code if target else (revising.facility_code if revising else "")
    policy = await call(book.facilities.policy, facility) if facility else None
    return {
        "targets": targets,
        "target": target,
        "revising": revising,
        "limits": _limits(policy) if policy else None,
        "title": revising.title if revising else "",
        "body": revising.body if revising else "",
        **extra,
    }


async def new_post(request: Request) -> Response:
    """發佈家庭聯絡簿: 呼號, title, body (with counter), attachments, 確認."""
    principal = await family(request)
    book = book_of(request)
    if request.method == "GET":
        context = await _editor(
            request, principal, inmate_id=request.query_params.get("inmate", "")
        )
        return render(request, "portal/post_form.html", context)
    form = await read_form(request)
    draft = contactbook.PostDraft(
        inmate_id=text(form, "inmate_id"),
        title=text(form, "title"),
        body=text(form, "body"),
        attachments=uploads_of(form, "attachments"),
    )
    try:
        await call(book.posts.publish, principal, draft)
    except ContactBookError as exc:
        context = await _editor(
            request,
            principal,
            inmate_id=draft.inmate_id,
            title=draft.title,
            body=draft.body,
            **error_context(request, exc),
        )
        return render(request, "portal/post_form.html", context, status=400)
    flash(request, "家庭聯絡簿已送出，待機關審核。", "Sent. The facility will review it.")
    return redirect("/contactbook")


async def revise_post(request: Request) -> Response:
    """Send a 審核未通過 post again, changed."""
    principal = await family(request)
    book = book_of(request)
    post = await call(book.posts.get, principal, request.path_params["post_id"])
    if request.method == "GET":
        return render(
            request, "portal/post_form.html", await _editor(request, principal, revising=post)
        )
    form = await read_form(request)
    draft = contactbook.PostDraft(
        inmate_id=post.inmate_id,
        title=text(form, "title"),
        body=text(form, "body"),
        attachments=uploads_of(form, "attachments"),
    )
    try:
        await call(book.posts.revise, principal, post.id, draft)
    except ContactBookError as exc:
        context = await _editor(
            request,
            principal,
            revising=post,
            title=draft.title,
            body=draft.body,
            **error_context(request, exc),
        )
        return render(request, "portal/post_form.html", context, status=400)
    flash(request, "已修改並重新送出，待機關審核。", "Revised and sent again for review.")
    return redirect("/contactbook")


async def withdraw_post(request: Request) -> Response:
    principal = await family(request)
    await read_form(request)
    await call(book_of(request).posts.withdraw, principal, request.path_params["post_id"])
    flash(request, "家庭聯絡簿已撤回。", "The post was withdrawn.")
    return redirect("/contactbook")


async def post_attachment(request: Request) -> Response:
    principal = await family(request)
    download = await call(
        book_of(request).posts.attachment,
        principal,
        request.path_params["post_id"],
        request.path_params["attachment_id"],
    )
    return download_response(download, inline=request.query_params.get("inline") == "1")


# -- 查看機關聯絡簿 -------------------------------------------------------------------


async def notices(request: Request) -> Response:
    """Cards grouped by 發佈年月, newest first; a month link narrows the list."""
    principal = await family(request)
    book = book_of(request)
    month = request.query_params.get("month") or None
    months = await call(book.notices.months_for_family, principal)
    try:
        page = await call(
            book.notices.list_for_family, principal, month, request.query_params.get("cursor")
        )
    except ContactBookError as exc:
        context = {"months": months, "groups": [], "month": None, **error_context(request, exc)}
        return render(request, "portal/notices.html", context, status=400)
    groups: list[tuple[str, list[Any]]] = []
    for card in page:
        if not groups or groups[-1][0] != card.month.label:
            groups.append((card.month.label, []))
        groups[-1][1].append(card)
    context = {"months": months, "groups": groups, "month": month, "page": page}
    return render(request, "portal/notices.html", context)


async def notice_detail(request: Request) -> Response:
    principal = await family(request)
    detail = await call(
        book_of(request).notices.get_for_family, principal, request.path_params["notice_id"]
    )
    return render(request, "portal/notice.html", {"notice": detail})


async def notice_attachment(request: Request) -> Response:
    principal = await family(request)
    download = await call(
        book_of(request).notices.attachment,
        principal,
        request.path_params["notice_id"],
        request.path_params["attachment_id"],
    )
    return download_response(download, inline=request.query_params.get("inline") == "1")


# -- 簡訊電子郵件紀錄 ------------------------------------------------------------------


async def messages(request: Request) -> Response:
    """分類, 傳送時間, 傳送目的 (masked), 主旨, 內文."""
    principal = await family(request)
    page = await call(
        book_of(request).messages.log_for, principal, request.query_params.get("cursor")
    )
    return render(request, "portal/messages.html", {"page": page})


routes = [
    Route("/contactbook", posts),
    Route("/contactbook/new", new_post, methods=["GET", "POST"]),
    Route("/contactbook/{post_id}/revise", revise_post, methods=["GET", "POST"]),
    Route("/contactbook/{post_id}/withdraw", withdraw_post, methods=["POST"]),
    Route("/contactbook/{post_id}/attachments/{attachment_id}", post_attachment),
    Route("/notices", notices),
    Route("/notices/{notice_id}", notice_detail),
    Route("/notices/{notice_id}/attachments/{attachment_id}", notice_attachment),
    Route("/messages", messages),
]
