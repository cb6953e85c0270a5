"""The tables: one ``dict`` per aggregate, from key to frozen entity.

Adding an aggregate adds its table here, its repository module and its line in
:mod:`.unit_of_work`.
"""

from __future__ import annotations

import attrs

from contactbook.domain.account import FamilyMember, OneTimeToken
from contactbook.domain.application import Grant, ServiceApplication
from contactbook.domain.audit import AuditEvent
from contactbook.domain.facility import Facility
from contactbook.domain.inmate import Inmate
from contactbook.domain.message import Message
from contactbook.domain.notice import AgencyNotice
from contactbook.domain.post import FamilyPost
from contactbook.domain.staff import StaffMember

__all__ = ["Tables"]


@attrs.define
class Tables:
    """Every table of one storage, committed or as one transaction sees it."""

    accounts: dict[str, FamilyMember] = attrs.Factory(dict)
    tokens: dict[str, OneTimeToken] = attrs.Factory(dict)
    facilities: dict[str, Facility] = attrs.Factory(dict)
    inmates: dict[str, Inmate] = attrs.Factory(dict)
    applications: dict[str, ServiceApplication] = attrs.Factory(dict)
    grants: dict[str, Grant] = attrs.Factory(dict)
    posts: dict[str, FamilyPost] = attrs.Factory(dict)
    notices: dict[str, AgencyNotice] = attrs.Factory(dict)
    messages: dict[str, Message] = attrs.Factory(dict)
    staff: dict[str, StaffMember] = attrs.Factory(dict)
    audit: dict[str, AuditEvent] = attrs.Factory(dict)

    def copy(self) -> Tables:
        """A new dict per table holding the same entities (they are immutable)."""
        return Tables(
            **{name: dict(rows) for name, rows in attrs.asdict(self, recurse=False).items()}
        )
