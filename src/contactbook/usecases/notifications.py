"""Composing the mail a change causes; added to the outbox in the same unit of work.

Subjects and bodies come from the message catalogs (``mail.<cause>.subject`` /
``.body``), Traditional Chinese first and English below it.
"""

from __future__ import annotations

from typing import Any

from contactbook.domain.account import FamilyMember
from contactbook.domain.message import Channel, Message, MessageCause
from contactbook.i18n import translate
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases.context import Context, new_id

__all__ = ["queue_mail"]


def _bilingual(msgid: str, params: dict[str, Any], separator: str) -> str:
    zh = translate(msgid, "zh_TW", **params)
    en = translate(msgid, "en", **params)
    return zh if zh == en else f"{zh}{separator}{en}"


def queue_mail(
    ctx: Context,
    uow: UnitOfWork,
    cause: MessageCause,
    *,
    to: str,
    account: FamilyMember | None,
    facility_code: str | None = None,
    **params: Any,
) -> Message:
    """Add one mail for ``cause`` to the outbox of this unit of work."""
    values = {"name": account.name if account else "", "base_url": ctx.settings.base_url}
    values.update(params)
    message = Message(
        id=new_id(),
        channel=Channel.EMAIL,
        destination=to,
        subject=_bilingual(f"mail.{cause.value}.subject", values, " / "),
        body=_bilingual(f"mail.{cause.value}.body", values, "\n\n-----\n\n"),
        cause=cause,
        created_at=ctx.now(),
        account_id=account.id if account else None,
        facility_code=facility_code,
    )
    uow.messages.add(message)
    return message
