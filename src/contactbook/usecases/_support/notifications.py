"""Composing the mail a change causes; added to the outbox in the same unit of work.

Subjects and bodies come from the mail templates (``contactbook/templates/mail``,
overridable with ``Settings.mail_template_dir``), Traditional Chinese first and
English below it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contactbook.domain.account import FamilyMember
from contactbook.domain.message import Channel, Message, MessageCause
from contactbook.i18n import translate
from contactbook.mail_templates import RenderedMail, render
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support.context import Context, new_id

__all__ = ["queue_mail"]


_LOCALES = ("zh_TW", "en")


def _bilingual(
    ctx: Context,
    cause: MessageCause,
    values: Mapping[str, str],
    hidden: Mapping[str, str] | None = None,
) -> RenderedMail:
    """Chinese above, English below. ``hidden`` (placeholder → value) replaces those
    placeholders in each language instead of ``values``."""
    override = ctx.settings.mail_template_dir
    zh, en = (
        render(cause.value, locale, {**values, **(hidden or {})}, override_dir=override)
        for locale in _LOCALES
    )
    return RenderedMail(f"{zh.subject} / {en.subject}", f"{zh.body}\n\n-----\n\n{en.body}")


def _with_links_hidden(
    ctx: Context, cause: MessageCause, values: Mapping[str, str], secrets: Mapping[str, str]
) -> str:
    """The body as the log shows it: each secret placeholder reads 「連結已隱藏」 in the
    Chinese part and "link hidden" in the English one."""
    override = ctx.settings.mail_template_dir
    parts = []
    for locale in _LOCALES:
        label = translate("mail.link_hidden", locale)
        blanks = {key: label for key in secrets}
        parts.append(render(cause.value, locale, {**values, **blanks}, override_dir=override).body)
    return "\n\n-----\n\n".join(parts)


def queue_mail(
    ctx: Context,
    uow: UnitOfWork,
    cause: MessageCause,
    *,
    to: str,
    account: FamilyMember | None,
    facility_code: str | None = None,
    secrets: Mapping[str, str] | None = None,
    **params: Any,
) -> Message:
    """Add one mail for ``cause`` to the outbox of this unit of work.

    ``secrets`` are placeholders whose values open the account (a link with a
    one-time token): the mail carries them, the log never does (see
    :attr:`Message.log_body`)."""
    values = {"name": account.name if account else "", "base_url": ctx.settings.base_url}
    values.update({key: str(value) for key, value in params.items()})
    mail = _bilingual(ctx, cause, values, secrets)
    log_body = _with_links_hidden(ctx, cause, values, secrets) if secrets else ""
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
        log_body=log_body,
    )
    uow.messages.add(message)
    return message
