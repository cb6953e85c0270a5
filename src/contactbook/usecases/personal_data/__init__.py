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

from typing import ClassVar

import attrs

from contactbook.domain.account import AccountStatus
from contactbook.domain.staff import Role, StaffMember
from contactbook.errors import Conflict, NotFound, PermissionDenied
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases.personal_data.erasure import (
    ERASED_BIRTH_DATE,
    ERASED_EMAIL_DOMAIN,
    delete_files,
    erase_account,
    stop_processing,
    stored_keys,
)
from contactbook.usecases.personal_data.export import EXPORT_FORMAT, export_archive, read_export
from contactbook.usecases.personal_data.requests import (
    COMPLETE_ACTION,
    DataRequest,
    RequestKind,
    file_request,
    open_request,
    requests_of,
)
from contactbook.usecases.personal_data.rows import (
    PAGE,
    applications_of,
    events_where,
    every_row,
    messages_of,
    posts_of,
)
from contactbook.usecases.principals import FamilyPrincipal, StaffPrincipal

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
            found = requests_of(self._ctx, uow)
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
            request = open_request(ctx, uow, account.id, kind)
            if request is None:
                raise Conflict("no_open_request")
            if account.status is not AccountStatus.CLOSED:
                account = stop_processing(uow, account, member, now)
            keys = erase_account(uow, account) if kind is RequestKind.DELETION else []
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
