"""The copy (複製本): everything held about the person as one zip."""

from __future__ import annotations

import enum
import io
import json
import tempfile
import zipfile
from datetime import date, datetime
from typing import Any, BinaryIO, cast

import attrs

from contactbook.domain.account import FamilyMember
from contactbook.domain.application import (
    ServiceApplication,
)
from contactbook.domain.audit import AuditEvent
from contactbook.domain.files import StoredFile
from contactbook.domain.message import Message
from contactbook.domain.post import FamilyPost
from contactbook.domain.time import in_taipei
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.views import inmate_label
from contactbook.usecases.personal_data.rows import (
    applications_of,
    events_where,
    messages_of,
    posts_of,
)
from contactbook.usecases.principals import FamilyPrincipal
from contactbook.usecases.uploads import Download

EXPORT_FORMAT = "contactbook.personal-data/1"
"""The ``format`` field of ``data.json`` in an export."""
_SPOOL_BYTES = 16 * 1024 * 1024


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
