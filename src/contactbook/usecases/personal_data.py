"""個資權利: the rights of PDPA Art. 3 over the data held about a family member.

* Copy (複製本): :func:`export_archive` — everything held about the person as one
  zip: ``data.json`` (the account, its consent, grants, applications with their
  evidence metadata, posts with their attachments, messages, and the audit events
  about the person) and ``files/`` (the evidence and attachments themselves).
* Correction: ``accounts.update_profile``.
* Deletion and stop-processing: :func:`file_request` records the request, its
  date and the Art. 13 deadline (``Settings.deletion_deadline_days``, 30 days);
  Agency administrators list open requests and complete them
  (:class:`PersonalData`).

Requests live in the audit trail itself (``personal_data.request`` and
``personal_data.complete`` events), which is append-only and hash-chained: a
request can be neither lost nor backdated without ``audit.verify()`` noticing.

Completing a deletion closes the account and erases what no retention rule keeps:
the name is masked (李○○), the national ID, e-mail, phones and birth date are
replaced by non-identifying stand-ins (unique, so the unique rules hold, and never
anyone's real value), the password can no longer match; evidence files and post
attachments are deleted, post texts and message contents emptied, pending posts
withdrawn, pending applications refused, grants ended, unsent messages dropped.
What stays are the skeleton rows (status and dates of applications, posts and
messages, so past decisions in the audit trail keep their meaning) until the
retention of closed accounts removes them (``maintenance.apply_retention``), and
the audit events, which name the person by account id only. Completing a
stop-processing request closes the account the same way but erases nothing yet:
the data is no longer used and goes at the end of the retention period.
"""

from __future__ import annotations

import enum
import io
import json
import logging
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any, BinaryIO, ClassVar, TypeVar, cast

import attrs

from contactbook.domain.account import AccountStatus, FamilyMember
from contactbook.domain.application import (
    ApplicationRejectionReason,
    ApplicationStatus,
    ServiceApplication,
)
from contactbook.domain.audit import AuditEvent
from contactbook.domain.files import StoredFile
from contactbook.domain.identifiers import EmailAddress, NationalId
from contactbook.domain.masking import mask_email, mask_mobile, mask_name
from contactbook.domain.message import Channel, Message, MessageStatus
from contactbook.domain.post import FamilyPost, PostStatus
from contactbook.domain.staff import Role, StaffMember
from contactbook.domain.time import format_date, in_taipei
from contactbook.errors import Conflict, NotFound, PermissionDenied
from contactbook.ports.storage import After, UnitOfWork
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context, new_id
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases._support.views import inmate_label
from contactbook.usecases.principals import FamilyPrincipal, StaffPrincipal
from contactbook.usecases.uploads import Download

__all__ = [
    "ERASED_BIRTH_DATE",
    "ERASED_EMAIL_DOMAIN",
    "EXPORT_FORMAT",
    "PAGE",
    "DataRequest",
    "PersonalData",
    "RequestKind",
    "applications_of",
    "events_where",
    "every_row",
    "export_archive",
    "file_request",
    "messages_of",
    "posts_of",
    "read_export",
    "stored_keys",
]

T = TypeVar("T")

_log = logging.getLogger(__name__)

EXPORT_FORMAT = "contactbook.personal-data/1"
"""The ``format`` field of ``data.json`` in an export."""
ERASED_BIRTH_DATE = date(1900, 1, 1)
"""What an erased account keeps in place of the birth date (the column is required)."""
ERASED_EMAIL_DOMAIN = "erased.example"
"""Erased accounts get ``erased-<random>@erased.example``: a reserved domain (RFC 2606)
that never receives mail, and an address no one can register."""

REQUEST_ACTION = "personal_data.request"
COMPLETE_ACTION = "personal_data.complete"
PAGE = 200
"""Rows asked for at a time when walking a whole keyset list (see ``every_row``)."""
_SPOOL_BYTES = 16 * 1024 * 1024


class RequestKind(enum.StrEnum):
    DELETION = "deletion"  # 刪除
    STOP_PROCESSING = "stop_processing"  # 停止蒐集、處理或利用


@attrs.frozen
class DataRequest:
    """A deletion or stop-processing request, as an administrator handles it."""

    account_id: str
    kind: RequestKind
    requested_at: datetime
    requested_on: str
    due_on: date
    """The Art. 13 deadline, a Taiwan calendar day."""
    name: str
    """The account's name, masked (李○○)."""
    email: str
    """The account's e-mail, masked (ty*****)."""
    completed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.completed_at is None


def due_date(ctx: Context, requested_at: datetime) -> date:
    """The Art. 13 deadline of a request made at ``requested_at`` (Taiwan days)."""
    return in_taipei(requested_at).date() + timedelta(days=ctx.settings.deletion_deadline_days)


def every_row(
    fetch: Callable[[After], Sequence[T]], key: Callable[[T], tuple[datetime, str]]
) -> list[T]:
    """Every row of a keyset list, page after page; ``fetch(after)`` asks for ``PAGE``
    rows after ``after`` (a shorter page is the last)."""
    rows: list[T] = []
    after: After = None
    while True:
        page = fetch(after)
        rows.extend(page)
        if len(page) < PAGE:
            return rows
        after = key(page[-1])


def events_where(uow: UnitOfWork, **filters: Any) -> list[AuditEvent]:
    search: dict[str, Any] = {"actor_id": None, "target_id": None, "since": None, "until": None}
    search.update(filters)
    return every_row(
        lambda after: uow.audit.search(after=after, limit=PAGE, **search),
        lambda event: (event.at, event.id),
    )


def applications_of(uow: UnitOfWork, account_id: str) -> list[ServiceApplication]:
    """Every application of the account, newest first."""
    return every_row(
        lambda after: uow.applications.list_by_applicant(account_id, after=after, limit=PAGE),
        lambda a: (a.submitted_at, a.id),
    )


def posts_of(
    uow: UnitOfWork, account_id: str, status: PostStatus | None = None
) -> list[FamilyPost]:
    """Every post of the account (of one status), newest first."""
    return every_row(
        lambda after: uow.posts.list_by_author(account_id, status=status, after=after, limit=PAGE),
        lambda p: (p.submitted_at, p.id),
    )


def messages_of(uow: UnitOfWork, account_id: str) -> list[Message]:
    """Every message of the account, whatever its status, newest first."""
    return every_row(
        lambda after: uow.messages.list_by_account(account_id, after=after, limit=PAGE),
        lambda m: (m.created_at, m.id),
    )


def _request_of(ctx: Context, uow: UnitOfWork, event: AuditEvent) -> DataRequest | None:
    details = dict(event.details)
    try:
        kind = RequestKind(details.get("kind", ""))
    except ValueError:
        return None
    if event.target_id is None:
        return None
    account = uow.accounts.get(event.target_id)
    return DataRequest(
        account_id=event.target_id,
        kind=kind,
        requested_at=event.at,
        requested_on=format_date(event.at),
        due_on=due_date(ctx, event.at),
        name=mask_name(account.name) if account else "",
        email=mask_email(account.email.value) if account else "",
    )


def _requests(ctx: Context, uow: UnitOfWork, account_id: str | None = None) -> list[DataRequest]:
    """Every request (of one account, or of all), oldest first, with its completion."""
    requests = events_where(uow, action=REQUEST_ACTION, target_id=account_id)
    completions = events_where(uow, action=COMPLETE_ACTION, target_id=account_id)
    done: dict[tuple[str | None, str], list[AuditEvent]] = {}
    for event in sorted(completions, key=lambda e: e.seq):
        done.setdefault((event.target_id, dict(event.details).get("kind", "")), []).append(event)
    found: list[DataRequest] = []
    for event in sorted(requests, key=lambda e: e.seq):
        request = _request_of(ctx, uow, event)
        if request is None:
            continue
        later = [
            c for c in done.get((event.target_id, request.kind.value), []) if c.seq > event.seq
        ]
        if later:
            request = attrs.evolve(request, completed_at=later[0].at)
        found.append(request)
    return found


def _open_request(
    ctx: Context, uow: UnitOfWork, account_id: str, kind: RequestKind
) -> DataRequest | None:
    for request in _requests(ctx, uow, account_id):
        if request.kind is kind and request.is_open:
            return request
    return None


def file_request(ctx: Context, principal: FamilyPrincipal, kind: RequestKind) -> DataRequest:
    """Record the caller's request with its date and deadline; asking again while it
    is open answers the first request (same date, same deadline)."""
    now = ctx.now()
    with ctx.uow() as uow:
        account = access.family(uow, principal)
        existing = _open_request(ctx, uow, account.id, kind)
        if existing is not None:
            return existing
        due = due_date(ctx, now)
        if kind is RequestKind.DELETION and account.deletion_requested_at is None:
            uow.accounts.replace(account, account.changed(deletion_requested_at=now))
        record(
            ctx,
            uow,
            account,
            REQUEST_ACTION,
            "account",
            account.id,
            details={"kind": kind.value, "due_on": due.isoformat()},
        )
        uow.commit()
    return DataRequest(
        account_id=account.id,
        kind=kind,
        requested_at=now,
        requested_on=format_date(now),
        due_on=due,
        name=mask_name(account.name),
        email=mask_email(account.email.value),
    )


# --- Export -------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON-ready: datetimes and dates ISO 8601, enums and identifiers as their text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items) if isinstance(value, set | frozenset) else items
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if hasattr(value, "value"):  # the identifier value objects
        return str(value.value)
    return value


def _file_entry(stored: StoredFile, path: str) -> dict[str, Any]:
    """A file's metadata as exported: never its storage key (an internal path)."""
    return {
        "id": stored.id,
        "kind": stored.kind.value if stored.kind else None,
        "filename": stored.display_name,
        "content_type": stored.content_type,
        "size": stored.size,
        "sha256": stored.sha256,
        "path": path,
    }


def _zip_name(folder: str, owner_id: str, stored: StoredFile) -> str:
    return f"files/{folder}/{owner_id}/{stored.id}_{stored.display_name}"


@attrs.frozen
class _Held:
    """Everything read about one person, in one unit of work."""

    account: FamilyMember
    grants: list[dict[str, Any]]
    applications: list[tuple[ServiceApplication, str]]
    posts: list[tuple[FamilyPost, str]]
    messages: list[Message]
    events: list[AuditEvent]


def _read_held(uow: UnitOfWork, account: FamilyMember) -> _Held:
    def label(inmate_id: str) -> str:
        return inmate_label(uow.inmates.get(inmate_id), " ")

    applications = applications_of(uow, account.id)
    posts = posts_of(uow, account.id)
    messages = messages_of(uow, account.id)
    grants = [
        {
            "id": g.id,
            "facility_code": g.facility_code,
            "inmate": label(g.inmate_id),
            "relationship": g.relationship.value,
            "granted_at": g.granted_at.isoformat(),
        }
        for g in uow.grants.active_for_account(account.id)
    ]
    events: dict[str, AuditEvent] = {}
    targets = [account.id, *(a.id for a in applications), *(p.id for p in posts)]
    for found in (
        events_where(uow, actor_id=account.id),
        *(events_where(uow, target_id=target) for target in targets),
    ):
        events.update((event.id, event) for event in found)
    return _Held(
        account=account,
        grants=grants,
        applications=[(a, label(a.inmate_id)) for a in applications],
        posts=[(p, label(p.inmate_id)) for p in posts],
        messages=messages,
        events=sorted(events.values(), key=lambda e: e.seq),
    )


def _event_entry(event: AuditEvent, account_id: str) -> dict[str, Any]:
    """An audit event about the person; other actors appear by kind and role only."""
    own = event.actor_id == account_id
    return {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "action": event.action,
        "actor": "self" if own else event.actor_kind,
        "role": "" if own else event.role,
        "facility_code": event.facility_code,
        "target_kind": event.target_kind,
        "target_id": event.target_id,
        "outcome": event.outcome,
        "origin": event.origin if own else "",
        "details": dict(event.details),
    }


def _document(ctx: Context, held: _Held) -> tuple[dict[str, Any], list[tuple[str, StoredFile]]]:
    account = held.account
    files: list[tuple[str, StoredFile]] = []

    def attached(folder: str, owner_id: str, stored: tuple[StoredFile, ...]) -> list[Any]:
        entries = []
        for item in stored:
            path = _zip_name(folder, owner_id, item)
            files.append((path, item))
            entries.append(_file_entry(item, path))
        return entries

    profile = attrs.asdict(account, recurse=False)
    for secret in ("password_hash", "version"):
        profile.pop(secret)
    profile["consent"] = {
        "notice_version": account.consent.notice_version,
        "accepted_at": account.consent.accepted_at.isoformat(),
    }
    applications = []
    for application, inmate in held.applications:
        entry = attrs.asdict(application, recurse=False)
        entry.pop("evidence")
        entry["inmate"] = inmate
        entry["evidence"] = attached("applications", application.id, application.evidence)
        applications.append(entry)
    posts = []
    for post, inmate in held.posts:
        entry = attrs.asdict(post, recurse=False)
        entry.pop("attachments")
        entry.pop("flagged_keywords")  # the facility's watch list is not the person's data
        entry["inmate"] = inmate
        entry["attachments"] = attached("posts", post.id, post.attachments)
        posts.append(entry)
    messages = [
        {
            "id": m.id,
            "channel": m.channel.value,
            "destination": m.destination,
            "subject": m.subject,
            "body": m.readable_body,
            "cause": m.cause.value,
            "created_at": m.created_at.isoformat(),
            "status": m.status.value,
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        }
        for m in held.messages
    ]
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": ctx.now().isoformat(),
        "profile": _plain(profile),
        "grants": held.grants,
        "applications": _plain(applications),
        "posts": _plain(posts),
        "messages": messages,
        "audit_events": [_event_entry(e, account.id) for e in held.events],
    }
    return document, files


_README = """個人資料複製本 / A copy of your personal data

data.json  您的基本資料、同意的個資聲明版本、服務項目申請、家庭聯絡簿、簡訊電子郵件紀錄，
           以及與您有關的稽核紀錄。
           Your account, the consent notice version you accepted, your applications,
           posts, messages, and the audit events about you.
files/     您上傳的佐證檔案與附件（經系統檢查並重新編碼後保存的版本）。
           The evidence and attachments you uploaded, as stored after inspection.
"""


def export_archive(ctx: Context, principal: FamilyPrincipal) -> Download:
    """The copy of everything held about the caller, as a zip (see the module doc)."""
    with ctx.uow() as uow:
        account = access.family(uow, principal)
        held = _read_held(uow, account)
        record(ctx, uow, account, "personal_data.export", "account", account.id)
        uow.commit()
    document, files = _document(ctx, held)
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - handed over
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _README)
        missing: list[str] = []
        for path, stored in files:
            try:
                source = ctx.files.open(stored.storage_key)
            except FileNotFoundError:
                missing.append(path)
                continue
            with source, archive.open(path, "w") as target:
                while chunk := source.read(1024 * 1024):
                    target.write(chunk)
        document["missing_files"] = missing
        archive.writestr(
            "data.json", json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)
        )
    size = spool.tell()
    spool.seek(0)
    day = in_taipei(ctx.now()).strftime("%Y%m%d")
    return Download(
        stream=cast(BinaryIO, spool),
        filename=f"contactbook-personal-data-{day}.zip",
        content_type="application/zip",
        size=size,
    )


def read_export(download: Download | bytes) -> dict[str, Any]:
    """The ``data.json`` document of an export (for front ends and tests)."""
    data = download if isinstance(download, bytes) else download.stream.read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        document: dict[str, Any] = json.loads(archive.read("data.json"))
    return document


# --- Closing and erasing --------------------------------------------------------------


def stored_keys(files: Sequence[StoredFile]) -> Iterator[str]:
    """The storage keys of files and their thumbnails."""
    for stored in files:
        yield stored.storage_key
        if stored.thumbnail_key:
            yield stored.thumbnail_key


def delete_files(ctx: Context, keys: Sequence[str]) -> int:
    """Delete stored objects after their rows are gone (committed); a failure leaves an
    orphan for ``maintenance.sweep_orphan_files``, never a row without its file."""
    deleted = 0
    for key in keys:
        try:
            ctx.files.delete(key)
        except Exception as error:  # one unreachable object must not stop the rest
            _log.warning("could not delete a stored file: %s", type(error).__name__)
        else:
            deleted += 1
    return deleted


def _stop(
    uow: UnitOfWork, account: FamilyMember, admin: StaffMember, now: datetime
) -> FamilyMember:
    """Close the account and stop everything in progress; erase nothing."""
    for grant in uow.grants.active_for_account(account.id):
        uow.grants.replace(grant, grant.end("account_closed", now))
    for post in posts_of(uow, account.id, PostStatus.PENDING):
        uow.posts.replace(post, post.withdraw(now))
    for application in applications_of(uow, account.id):
        if application.status is ApplicationStatus.PENDING:
            uow.applications.replace(
                application,
                application.reject(
                    ApplicationRejectionReason.OTHER,
                    "account_closed",
                    by=admin.id,
                    at=now,
                    version=application.version,
                ),
            )
    for message in messages_of(uow, account.id):
        if message.status is MessageStatus.PENDING:
            uow.messages.replace(
                message,
                attrs.evolve(
                    message,
                    status=MessageStatus.FAILED,
                    next_attempt_at=None,
                    last_error="account_closed",
                    version=message.version + 1,
                ),
            )
    closed = account.changed(
        status=AccountStatus.CLOSED,
        session_version=account.session_version + 1,
        notify_delivery=False,
        notify_notices=False,
    )
    uow.accounts.replace(account, closed)
    return closed


def _erase(uow: UnitOfWork, account: FamilyMember) -> list[str]:
    """Erase a closed account's personal data (see the module doc); the storage keys
    of the files to delete once this is committed."""
    keys: list[str] = []
    for application in applications_of(uow, account.id):
        if application.evidence or application.rejection_note:
            keys.extend(stored_keys(application.evidence))
            uow.applications.replace(
                application,
                attrs.evolve(
                    application, evidence=(), rejection_note="", version=application.version + 1
                ),
            )
    for post in posts_of(uow, account.id):
        keys.extend(stored_keys(post.attachments))
        uow.posts.replace(
            post,
            attrs.evolve(
                post,
                title="",
                body="",
                attachments=(),
                flagged_keywords=(),
                rejection_note="",
                version=post.version + 1,
            ),
        )
    for message in messages_of(uow, account.id):
        masked = (
            mask_mobile(message.destination)
            if message.channel is Channel.SMS
            else mask_email(message.destination)
        )
        uow.messages.replace(
            message,
            attrs.evolve(
                message, destination=masked, subject="", body="", version=message.version + 1
            ),
        )
    uow.accounts.replace(
        account,
        account.changed(
            name=mask_name(account.name),
            national_id=NationalId.erased(new_id()[:15]),
            email=EmailAddress.parse(f"erased-{new_id()}@{ERASED_EMAIL_DOMAIN}"),
            birth_date=ERASED_BIRTH_DATE,
            phone=None,
            mobile=None,
            password_hash="",
            failed_logins=0,
            locked_until=None,
        ),
    )
    return keys


class PersonalData:
    """Deletion and stop-processing requests (PDPA Art. 3, 11, 13).

    Families file them (``accounts.request_deletion``, :meth:`request_stop_processing`);
    Agency administrators list and complete them.
    """

    group: ClassVar[str] = "personal_data"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @use_case(acts_for="principal")
    def request_stop_processing(self, principal: FamilyPrincipal) -> DataRequest:
        """停止蒐集、處理或利用: recorded with its date and the Art. 13 deadline."""
        return file_request(self._ctx, principal, RequestKind.STOP_PROCESSING)

    def _admin(self, uow: UnitOfWork, admin: StaffPrincipal) -> StaffMember:
        member = access.staff_with_role(uow, admin, Role.ADMIN)
        if not member.is_agency:
            raise PermissionDenied("agency_only")
        return member

    @use_case(acts_for="admin")
    def deletion_requests(
        self, admin: StaffPrincipal, include_completed: bool = False
    ) -> list[DataRequest]:
        """Deletion and stop-processing requests, oldest (most urgent) first; open ones
        only unless ``include_completed``."""
        with self._ctx.uow() as uow:
            self._admin(uow, admin)
            found = _requests(self._ctx, uow)
        return [r for r in found if include_completed or r.is_open]

    @use_case(acts_for="admin", target=("account", "account_id"))
    def complete_deletion(self, admin: StaffPrincipal, account_id: str) -> DataRequest:
        """Close the account and erase its personal data (see the module doc)."""
        return self._complete(admin, account_id, RequestKind.DELETION)

    @use_case(acts_for="admin", target=("account", "account_id"))
    def complete_stop_processing(self, admin: StaffPrincipal, account_id: str) -> DataRequest:
        """Close the account; its data is no longer used and goes with retention."""
        return self._complete(admin, account_id, RequestKind.STOP_PROCESSING)

    def _complete(self, admin: StaffPrincipal, account_id: str, kind: RequestKind) -> DataRequest:
        ctx = self._ctx
        now = ctx.now()
        with ctx.uow() as uow:
            member = self._admin(uow, admin)
            account = uow.accounts.get(account_id)
            if account is None:
                raise NotFound()
            request = _open_request(ctx, uow, account.id, kind)
            if request is None:
                raise Conflict("no_open_request")
            if account.status is not AccountStatus.CLOSED:
                account = _stop(uow, account, member, now)
            keys = _erase(uow, account) if kind is RequestKind.DELETION else []
            record(
                ctx,
                uow,
                member,
                COMPLETE_ACTION,
                "account",
                account.id,
                details={"kind": kind.value, "requested_at": request.requested_at.isoformat()},
            )
            uow.commit()
        delete_files(ctx, keys)
        return attrs.evolve(request, completed_at=now)
