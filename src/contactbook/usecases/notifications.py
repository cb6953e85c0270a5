"""Composing the mail a change causes; added to the outbox in the same unit of work.

Subjects and bodies come from the mail templates (``contactbook/templates/mail``,
overridable with ``Settings.mail_template_dir``), Traditional Chinese first and
English below it.
"""

from __future__ import annotations

from typing import Any

from contactbook.domain.account import FamilyMember
from contactbook.domain.message import Channel, Message, MessageCause
from contactbook.mail_templates import RenderedMail, render
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases.context import Context, new_id

__all__ = ["queue_mail"]


def _bilingual(ctx: Context, cause: MessageCause, values: dict[str, str]) -> RenderedMail:
    override = ctx.settings.mail_template_dir
    zh = render(cause.value, "zh_TW", values, override_dir=override)
    en = render(cause.value, "en", values, override_dir=override)
    return RenderedMail(f"{zh.subject} / {en.subject}", f"{zh.body}\n\n-----\n\n{en.body}")


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
    values.update({key: str(value) for key, value in params.items()})
    mail = _bilingual(ctx, cause, values)
    message = Message(
        id=new_id(),
        channel=Channel.EMAIL,
        destination=to,
        subject=mail.subject,
        body=mail.body,
        cause=cause,
        created_at=ctx.now(),
        account_id=account.id if account else None,
        facility_code=facility_code,
    )
    uow.messages.add(message)
    return message
