"""The profile and the personal-data rights a family member exercises"""

from __future__ import annotations

from datetime import date

import attrs

from contactbook.domain.account import UNCHANGED, Unchanged
from contactbook.domain.identifiers import MobileNumber, PhoneNumber
from contactbook.domain.text import clean_line
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases.accounts.common import (
    ProfileView,
    profile_view,
)
from contactbook.usecases.forms import ProfileChanges
from contactbook.usecases.personal_data import RequestKind, export_archive, file_request
from contactbook.usecases.principals import FamilyPrincipal
from contactbook.usecases.uploads import Download

__all__ = ["AccountProfile"]


class AccountProfile:
    """``book.accounts``: the profile and the personal-data rights a family member exercises."""

    _ctx: Context

    @use_case(acts_for="principal")
    def profile(self, principal: FamilyPrincipal) -> ProfileView:
        with self._ctx.uow() as uow:
            account = access.family(uow, principal)
        return profile_view(account)

    @use_case(acts_for="principal")
    def update_profile(self, principal: FamilyPrincipal, changes: ProfileChanges) -> ProfileView:
        ctx = self._ctx
        name = (
            None if changes.name is None else clean_line(changes.name, field="name", max_chars=50)
        )
        mobile: MobileNumber | Unchanged | None = UNCHANGED
        if changes.mobile is not None:
            mobile = MobileNumber.parse(changes.mobile) if changes.mobile.strip() else None
        phone: PhoneNumber | Unchanged | None = UNCHANGED
        if changes.phone is not None:
            phone = PhoneNumber.parse(changes.phone) if changes.phone.strip() else None
        given = [
            f.name for f in attrs.fields(ProfileChanges) if getattr(changes, f.name) is not None
        ]
        with ctx.uow() as uow:
            account = access.family(uow, principal)
            after = account
            if given:
                after = account.with_profile(
                    name=name,
                    mobile=mobile,
                    phone=phone,
                    notify_delivery=changes.notify_delivery,
                    notify_notices=changes.notify_notices,
                )
                uow.accounts.replace(account, after)
            record(
                ctx,
                uow,
                account,
                "account.update_profile",
                "account",
                account.id,
                details={"fields": ",".join(sorted(given))},
            )
            uow.commit()
        return profile_view(after)

    @use_case(acts_for="principal")
    def export_my_data(self, principal: FamilyPrincipal) -> Download:
        """A copy of everything held about the caller (個資 查詢/複製本, PDPA Art. 3):
        a zip of ``data.json`` (account and consent, grants, applications with their
        evidence metadata, posts with their attachments, messages, and the audit events
        about the caller) and ``files/`` (the evidence and attachments). Read the
        document with ``contactbook.usecases.personal_data.read_export``."""
        return export_archive(self._ctx, principal)

    @use_case(acts_for="principal")
    def request_deletion(self, principal: FamilyPrincipal) -> date:
        """Ask for the account and its data to be deleted; recorded with its date and
        answered by an Agency administrator within 30 days (PDPA Art. 13,
        ``Settings.deletion_deadline_days``). Returns that deadline (a Taiwan date);
        asking again while the request is open returns the same date."""
        return file_request(self._ctx, principal, RequestKind.DELETION).due_on
