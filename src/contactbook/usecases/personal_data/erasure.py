"""Completing a request: stopping the processing, erasing what no retention rule keeps,
and removing the files."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import date, datetime

from contactbook.domain.account import FamilyMember
from contactbook.domain.application import (
    ApplicationRejectionReason,
    ApplicationStatus,
)
from contactbook.domain.files import StoredFile
from contactbook.domain.identifiers import EmailAddress, NationalId
from contactbook.domain.masking import mask_email, mask_mobile, mask_name
from contactbook.domain.message import Channel, MessageStatus
from contactbook.domain.post import PostStatus
from contactbook.domain.staff import StaffMember
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support.context import Context, new_id
from contactbook.usecases.personal_data.rows import (
    applications_of,
    messages_of,
    posts_of,
)

_log = logging.getLogger(__name__)

ERASED_BIRTH_DATE = date(1900, 1, 1)
"""What an erased account keeps in place of the birth date (the column is required)."""
ERASED_EMAIL_DOMAIN = "erased.example"
"""Erased accounts get ``erased-<random>@erased.example``: a reserved domain (RFC 2606)
that never receives mail, and an address no one can register."""


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


def stop_processing(
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
                message.abandoned("account_closed"),
            )
    closed = account.closed()
    uow.accounts.replace(account, closed)
    return closed


def erase_account(uow: UnitOfWork, account: FamilyMember) -> list[str]:
    """Erase a closed account's personal data (see the module doc); the storage keys
    of the files to delete once this is committed."""
    keys: list[str] = []
    for application in applications_of(uow, account.id):
        if application.evidence or application.rejection_note:
            keys.extend(stored_keys(application.evidence))
            uow.applications.replace(
                application,
                application.erased(),
            )
    for post in posts_of(uow, account.id):
        keys.extend(stored_keys(post.attachments))
        uow.posts.replace(
            post,
            post.erased(),
        )
    for message in messages_of(uow, account.id):
        masked = (
            mask_mobile(message.destination)
            if message.channel is Channel.SMS
            else mask_email(message.destination)
        )
        uow.messages.replace(
            message,
            message.erased(masked),
        )
    uow.accounts.replace(
        account,
        account.erased(
            masked_name=mask_name(account.name),
            national_id=NationalId.erased(new_id()[:15]),
            email=EmailAddress.parse(f"erased-{new_id()}@{ERASED_EMAIL_DOMAIN}"),
            birth_date=ERASED_BIRTH_DATE,
        ),
    )
    return keys
