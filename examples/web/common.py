"""What every route module shares: the book, templates, sign-in, forms, errors."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

import contactbook
from contactbook.errors import (
    AuthenticationFailed,
    Conflict,
    ContactBookError,
    NotFound,
    PermissionDenied,
    ValidationError,
)

from .i18n import LANGS, label_text, translator
from .security import ServerSession, check_csrf, csrf_token

__all__ = [
    "TEMPLATES",
    "FamilyRequired",
    "StaffRequired",
    "book_of",
    "call",
    "choice",
    "csrf_first",
    "day_of",
    "error_context",
    "family",
    "flash",
    "lang_of",
    "link_values",
    "read_form",
    "redirect",
    "render",
    "return_to",
    "session_of",
    "staff",
    "status_of",
    "take_link",
    "upload_of",
    "version_of",
]

P = ParamSpec("P")
T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
# The enums whose values some views carry as strings, for ``L(Service(value))``.
TEMPLATES.env.globals.update(
    Service=contactbook.Service, PostRejectionReason=contactbook.PostRejectionReason
)
MAX_FORM_FILES = 10
MAX_FORM_FIELDS = 60


class FamilyRequired(Exception):
    """The page needs a signed-in family member: go to the portal's login."""


class StaffRequired(Exception):
    """The page needs a signed-in staff member: go to the back office's login."""


def book_of(request: Request) -> contactbook.ContactBook:
    book: contactbook.ContactBook = request.app.state.book
    return book


async def call(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a (blocking) use case in the thread pool, off the event loop."""
    return await run_in_threadpool(fn, *args, **kwargs)


def session_of(request: Request) -> ServerSession:
    session = request.scope["session"]
    assert isinstance(session, ServerSession)
    return session


def take_link(request: Request, key: str, names: tuple[str, ...]) -> Response | None:
    """Open a mailed link: its one-time values (``names`` in the query) move into a new
    session under ``key`` and the browser goes on to the same path without them, so
    the token leaves the address bar, the history, the language links and any later
    log line. None when this request carries none of them.

    The session gets a new id (whoever knew the old one must not read the token) but
    keeps everything else: any site can send a signed-in browser here (the cookie is
    SameSite=Lax), and opening a link must not sign the person out."""
    query = request.query_params
    if request.method != "GET" or not any(name in query for name in names):
        return None
    session = session_of(request)
    session.rotate(keep=tuple(session))
    session[key] = {name: query.get(name, "") for name in names}
    return redirect(request.url.path)


def link_values(request: Request, key: str) -> dict[str, str]:
    """What :func:`take_link` kept for this page ({} when nothing)."""
    kept = request.session.get(key)
    return {k: v for k, v in kept.items() if isinstance(v, str)} if isinstance(kept, dict) else {}


def lang_of(request: Request) -> str:
    lang = request.session.get("lang")
    return lang if lang in LANGS else "zh_TW"


def _here(request: Request) -> str:
    """The page the language links come back to: this one, never with a one-time
    ``token`` (the link would carry it on to the next request and into the server's
    log). A page answering a POST to an action-only path names the page to show
    instead with :func:`return_to`, as a GET of that path cannot show it again."""
    url = request.url
    explicit = getattr(request.state, "return_to", None)
    if isinstance(explicit, str):
        url = url.replace(path=urlsplit(explicit).path, query=urlsplit(explicit).query)
    elif request.method != "GET":
        url = url.replace(query="")
    kept = [(k, v) for k, v in parse_qsl(url.query, keep_blank_values=True) if k != "token"]
    return url.path + (f"?{urlencode(kept)}" if kept else "")


def return_to(request: Request, path: str) -> None:
    """The page this answer's language links lead back to (see :func:`_here`)."""
    request.state.return_to = path


def _context(request: Request) -> dict[str, Any]:
    lang = lang_of(request)

    def enum_label(value: enum.Enum) -> str:
        return contactbook.label(value, lang)

    def zh_label(text: str) -> str:
        return label_text(text, lang)

    def page_link(cursor: str) -> str:
        """This page with the next page's cursor, other filters kept."""
        params = dict(request.query_params)
        params["cursor"] = cursor
        return f"{request.url.path}?{urlencode(params)}"

    here = _here(request)

    return {
        "lang": lang,
        "html_lang": "en" if lang == "en" else "zh-Hant-TW",
        "t": translator(lang),
        "L": enum_label,
        "Z": zh_label,
        "csrf_token": csrf_token(request.session),
        "flashes": request.session.pop("flash", []),
        "signed_in": "account_id" in request.session,
        "family_name": request.session.get("family_name", ""),
        "staff_name": request.session.get("staff_name", "")
        if request.session.get("staff_ok")
        else "",
        "path": request.url.path,
        "here": quote(here, safe=""),
        "page_link": page_link,
    }


TEMPLATES.context_processors.append(_context)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> Response:
    return TEMPLATES.TemplateResponse(request, template, context or {}, status_code=status)


def redirect(path: str) -> RedirectResponse:
    """303 to a path of this site (never to a URL the browser chose)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        path = "/"
    return RedirectResponse(path, status_code=303)


def flash(request: Request, zh: str, en: str) -> None:
    """A success message shown once on the next page."""
    messages = list(request.session.get("flash", []))
    messages.append(en if lang_of(request) == "en" else zh)
    request.session["flash"] = messages


async def read_form(request: Request) -> FormData:
    """The POSTed form, after its CSRF token was checked (403 otherwise)."""
    form = await request.form(max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS)
    check_csrf(request.session, form.get("csrf_token") or request.headers.get("x-csrf-token"))
    return form


def csrf_first(routes: list[BaseRoute]) -> list[BaseRoute]:
    """Every POST route checks the CSRF token before anything else runs (sign-in,
    lookups, use cases), so no route can forget it. The form stays cached on the
    request, so the endpoint's own ``read_form`` costs nothing more."""
    guarded: list[BaseRoute] = []
    for route in routes:
        if isinstance(route, Route) and route.methods and "POST" in route.methods:
            endpoint = route.endpoint

            async def checked(request: Request, endpoint: Any = endpoint) -> Response:
                if request.method == "POST":
                    await read_form(request)
                response: Response = await endpoint(request)
                return response

            route = Route(route.path, checked, methods=list(route.methods), name=route.name)
        guarded.append(route)
    return guarded


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def version_of(form: FormData) -> int:
    """The ``version`` a form was rendered with (optimistic locking in the library)."""
    raw = text(form, "version").strip()
    return int(raw) if raw.isdigit() else 0


def day_of(value: str, field: str) -> date | None:
    """A date filter (``2020-10-07`` or ``2020/10/07``); empty is None."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip().replace("/", "-"))
    except ValueError:
        raise ValidationError("date_format", fields={field: "date_format"}) from None


def choice(cls: type[E], value: str, field: str, missing: str = "field_required") -> E:
    """The enum member a select or checkbox sent; a field error (``missing``) otherwise."""
    if not value.strip():
        raise ValidationError(missing, fields={field: missing})
    try:
        return cls(value.strip())
    except ValueError:
        raise ValidationError("invalid_value", fields={field: "invalid_value"}) from None


def upload_of(value: object) -> contactbook.Upload | None:
    """A chosen file as the library's ``Upload``; an empty file input is None."""
    if isinstance(value, UploadFile) and value.filename:
        return contactbook.Upload(
            filename=value.filename, stream=value.file, content_type=value.content_type or ""
        )
    return None


def uploads_of(form: FormData, name: str) -> list[contactbook.Upload]:
    return [u for u in (upload_of(v) for v in form.getlist(name)) if u is not None]


def error_context(request: Request, exc: ContactBookError) -> dict[str, Any]:
    """The error's message and, for ``ValidationError``, each field's, in the page's language."""
    lang = lang_of(request)
    fields = exc.field_messages(lang) if isinstance(exc, ValidationError) else {}
    return {"error": exc.message(lang), "field_errors": fields}


async def family(request: Request) -> contactbook.FamilyPrincipal:
    """The signed-in family member; sessions of an older password end here."""
    account_id = request.session.get("account_id")
    if not isinstance(account_id, str):
        raise FamilyRequired()
    try:
        principal = await call(book_of(request).accounts.principal, account_id)
    except NotFound:
        principal = None
    if principal is None or principal.session_version != request.session.get("session_version"):
        session_of(request).end()
        raise FamilyRequired()
    return principal


async def staff(request: Request) -> contactbook.StaffPrincipal:
    """The signed-in staff member (password and, when required, TOTP); the session
    ends here once a password reset or a cleared authenticator moved the member's
    session version on, or the member was deactivated."""
    staff_id = request.session.get("staff_id")
    version = request.session.get("staff_session_version")
    if (
        not isinstance(staff_id, str)
        or not isinstance(version, int)
        or not request.session.get("staff_ok")
    ):
        raise StaffRequired()
    principal = contactbook.StaffPrincipal(staff_id, session_version=version)
    if not await call(book_of(request).staff.session_valid, principal):
        session_of(request).end()
        raise StaffRequired()
    return principal


# -- error pages ----------------------------------------------------------------

_HTTP_TEXTS = {
    400: ("請求格式錯誤。", "The request was malformed."),
    403: (
        "請求遭拒：表單已過期或來源不明，請重新整理頁面後再試。",
        "Request refused: the form expired or came from elsewhere. Reload the page and try again.",
    ),
    404: ("查無此頁面或資料。", "No such page or record."),
    405: ("不支援此操作。", "This method is not allowed here."),
    413: ("上傳資料超過 25 MB 上限。", "The upload exceeds the 25 MB limit."),
}


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", {"status": status, "message": message}, status=status)


async def http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    zh, en = _HTTP_TEXTS.get(status, ("發生錯誤。", "Something went wrong."))
    return error_page(request, status, en if lang_of(request) == "en" else zh)


def status_of(exc: ContactBookError) -> int:
    """The HTTP status of a refusal of the library."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, AuthenticationFailed):
        return 401
    if isinstance(exc, Conflict):
        return 409
    return 400


async def contactbook_error(request: Request, exc: Exception) -> Response:
    """A refusal of the library: its own message; NotFound is a 404, never a hint."""
    assert isinstance(exc, ContactBookError)
    return error_page(request, status_of(exc), exc.message(lang_of(request)))


async def server_error(request: Request, exc: Exception) -> Response:
    """No stack trace, no exception text: the server log has them."""
    zh, en = (
        "系統發生錯誤，請稍後再試。",
        "Something went wrong on our side. Please try again later.",
    )
    try:
        return error_page(request, 500, en if lang_of(request) == "en" else zh)
    except Exception:  # the session or templates may be what failed
        return Response(f"500 — {zh} {en}", status_code=500, media_type="text/plain; charset=utf-8")


async def family_required(request: Request, exc: Exception) -> Response:
    return redirect(f"/login?next={quote(request.url.path)}")


async def staff_required(request: Request, exc: Exception) -> Response:
    """To the login, or to the second step when the password was already given."""
    halfway = "staff_id" in request.session and not request.session.get("staff_ok")
    return redirect("/admin/totp" if halfway else "/admin/login")


def safe_next(value: str) -> str:
    """A ``next`` path of this site only."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"
