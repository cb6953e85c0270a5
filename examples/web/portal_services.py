"""服務項目申請 (facility + 呼號 → 查詢 → masked inmate → relationship → services →
evidence → 確認 → 已送出) and 服務項目狀態查詢."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import contactbook
from contactbook.errors import ContactBookError, ValidationError

from .common import (
    book_of,
    call,
    choice,
    error_context,
    family,
    read_form,
    redirect,
    render,
    text,
    upload_of,
)

__all__ = ["routes"]

TARGET = "apply_target"


async def _form_context(request: Request, **extra: Any) -> dict[str, Any]:
    facilities = await call(book_of(request).facilities.list)
    return {
        "facilities": facilities,
        "target": request.session.get(TARGET),
        "relationships": list(contactbook.Relationship),
        "services": list(contactbook.Service),
        **extra,
    }


async def apply_page(request: Request) -> Response:
    await family(request)
    return render(request, "portal/apply.html", await _form_context(request))


async def lookup(request: Request) -> Response:
    """查詢: the masked inmate, so the family can confirm it before applying."""
    principal = await family(request)
    form = await read_form(request)
    facility_code, call_number = text(form, "facility_code"), text(form, "call_number")
    try:
        found = await call(book_of(request).inmates.find, principal, facility_code, call_number)
    except ContactBookError as exc:
        request.session.pop(TARGET, None)
        context = await _form_context(
            request,
            facility_code=facility_code,
            call_number=call_number,
            **error_context(request, exc),
        )
        return render(request, "portal/apply.html", context, status=400)
    request.session[TARGET] = {
        "facility_code": found.facility_code,
        "facility_name": found.facility_name,
        "call_number": found.call_number,
        "label": found.label,
    }
    return redirect("/services/apply")


async def submit(request: Request) -> Response:
    principal = await family(request)
    form = await read_form(request)
    target = request.session.get(TARGET)
    if not isinstance(target, dict):
        return redirect("/services/apply")
    book = book_of(request)
    degree = text(form, "kinship_degree").strip()
    try:
        if degree and not degree.isdigit():
            raise ValidationError("invalid_value", fields={"kinship_degree": "invalid_value"})
        application = contactbook.ApplicationForm(
            facility_code=target["facility_code"],
            call_number=target["call_number"],
            relationship=choice(
                contactbook.Relationship, text(form, "relationship"), "relationship"
            ),
            services=frozenset(
                choice(contactbook.Service, value, "services")
                for value in form.getlist("services")
                if isinstance(value, str)
            ),
            id_document=upload_of(form.get("id_document")),
            relationship_proof=upload_of(form.get("relationship_proof")),
            frontal_photo=upload_of(form.get("frontal_photo")),
            kinship_degree=int(degree) if degree else None,
        )
        await call(book.applications.apply, principal, application)
    except ContactBookError as exc:
        chosen = {v for v in form.getlist("services") if isinstance(v, str)}
        context = await _form_context(
            request,
            relationship=text(form, "relationship"),
            chosen=chosen,
            kinship_degree=degree,
            **error_context(request, exc),
        )
        return render(request, "portal/apply.html", context, status=400)
    request.session.pop(TARGET, None)
    return render(request, "portal/applied.html")


async def status(request: Request) -> Response:
    """服務項目狀態查詢: 矯正機關, 收容人, 關係, 服務項目, 狀態, 審核時間."""
    principal = await family(request)
    page = await call(
        book_of(request).applications.list_mine, principal, request.query_params.get("cursor")
    )
    return render(request, "portal/status.html", {"page": page})


routes = [
    Route("/services/apply", apply_page),
    Route("/services/apply/lookup", lookup, methods=["POST"]),
    Route("/services/apply/submit", submit, methods=["POST"]),
    Route("/services/status", status),
]
