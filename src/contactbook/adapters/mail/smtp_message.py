"""Writing a mail's bytes for SMTP: headers folded as ``email.policy.SMTP`` folds them,
RFC 2047-encoded (7-bit clean, no 8BITMIME needed), with what does not change from one
mail to the next (From, Date within a second, MIME headers, subjects) folded once.

Anything that cannot be written (a line break in a header, a bad address, an unusable
Message-ID) is a ``PermanentDeliveryFailure``: the mail, not the server, is at fault.
"""

from __future__ import annotations

import email
import email.policy
import functools
import re
from datetime import datetime
from email import headerregistry
from email.message import EmailMessage
from email.utils import format_datetime

from contactbook.ports.delivery import OutgoingMail, PermanentDeliveryFailure

__all__ = ["POLICY", "render_message", "sender_address"]

# Same rule as FolderMailer: the id is the left part of ``<id@contactbook>``.
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*")


class _HeaderClasses(headerregistry.HeaderRegistry):
    """The standard header registry, except that each header class is made once:
    ``HeaderRegistry`` builds a new class (``type(...)``) for every header it parses."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[headerregistry.BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[headerregistry.BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


class _SmtpPolicy(email.policy.EmailPolicy):
    """``email.policy.SMTP`` that folds the MIME headers of the body part once: they
    take a handful of values (``text/plain; charset="utf-8"``, ``base64`` …), and
    folding re-parses and re-renders them for every mail."""

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in _MIME_HEADERS:
            return _fold_mime_header(self, name, str(value))
        return super().fold_binary(name, value)


_MIME_HEADERS = frozenset({"content-type", "content-transfer-encoding", "mime-version"})


@functools.lru_cache(maxsize=64)
def _fold_mime_header(policy: _SmtpPolicy, name: str, value: str) -> bytes:
    return email.policy.EmailPolicy.fold_binary(policy, name, policy.header_factory(name, value))


# Headers are RFC 2047-encoded (``utf8=False``) and a non-ASCII body is sent as
# base64 or quoted-printable, so the mail is 7-bit clean and needs no 8BITMIME.
POLICY = _SmtpPolicy(linesep="\r\n", cte_type="7bit", header_factory=_HeaderClasses())

_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
"""Every character ``str.splitlines`` breaks at (``EmailMessage`` refuses those within
a header value; here a trailing one is refused too)."""


def _checked(value: str) -> str:
    """``value`` if it can be a header value: no line break of any kind."""
    if not _LINE_BREAKS.isdisjoint(value):
        raise ValueError("Header values may not contain linefeed or carriage return characters")
    return value


def _folded(name: str, value: str) -> bytes:
    """``Name: value`` as ``EmailMessage`` with ``POLICY`` writes it (parsed, folded, CRLF)."""
    return POLICY.fold_binary(name, POLICY.header_factory(name, _checked(value)))


@functools.lru_cache(maxsize=8)
def _folded_constant(name: str, value: str) -> bytes:
    """:func:`_folded` for a value that is the same for every mail (the sender)."""
    return _folded(name, value)


@functools.lru_cache(maxsize=256)
def _folded_subject(subject: str) -> bytes:
    """Subjects come from the message catalog's templates: a few, sent again and again."""
    return _folded("Subject", subject)


def _folded_message_id(message_id: str) -> bytes:
    """The Message-ID header of an id that matched ``_MESSAGE_ID`` (letters, digits,
    ``_.-``): written as is when it fits in one line, which is what folding gives."""
    line = f"Message-ID: <{message_id}@contactbook>\r\n"
    if len(line) - 2 <= (POLICY.max_line_length or 0):
        return line.encode("ascii")
    return _folded("Message-ID", f"<{message_id}@contactbook>")


@functools.lru_cache(maxsize=4)
def _folded_date(moment: datetime) -> bytes:
    """The Date header of a whole second (the header has no finer resolution)."""
    return _folded("Date", format_datetime(moment))


def render_message(mail: OutgoingMail, sender: str, now: datetime) -> tuple[str, bytes]:
    """The recipient's address and the mail's bytes (``now``: the Date header, UTC).

    The same bytes ``EmailMessage`` with ``POLICY`` writes for these headers in
    this order, each header folded by the policy itself; but headers that do not
    change from one mail to the next (From, and Date within a second) are parsed
    and folded once, not for every mail, and the body part is a message of its own
    whose bytes follow the top headers.
    """
    if not _MESSAGE_ID.fullmatch(mail.message_id) or len(mail.message_id) > 200:
        raise PermanentDeliveryFailure(f"message id {mail.message_id!r} is not usable")
    try:
        to = POLICY.header_factory("To", _checked(mail.to))
        _checked(mail.subject)  # the same complaint first as EmailMessage would make
        if to.defects or len(to.addresses) != 1:
            raise ValueError("the recipient must be exactly one valid address")
        body = EmailMessage(policy=POLICY)
        body.set_content(mail.body, charset="utf-8")
        data = b"".join(
            (
                _folded_message_id(mail.message_id),
                _folded_date(now.replace(microsecond=0)),
                _folded_constant("From", sender),
                POLICY.fold_binary("To", to),
                _folded_subject(mail.subject),  # RFC 2047-encoded when not ASCII
                # raises here, not mid-DATA, for header injection and the like
                body.as_bytes(),
            )
        )
    except (ValueError, IndexError, TypeError) as exc:
        raise PermanentDeliveryFailure(f"cannot write this mail: {exc}") from None
    return str(to.addresses[0].addr_spec), data


def sender_address(sender: str) -> str:
    """The envelope address of a ``From`` value such as ``矯正署 <noreply@moj.gov.tw>``."""
    probe = EmailMessage(policy=POLICY)
    try:
        probe["From"] = sender
        header = probe["From"]
        if header.defects or len(header.addresses) != 1 or not header.addresses[0].domain:
            raise ValueError("not one valid address")
    except (ValueError, IndexError) as exc:
        raise ValueError(f"invalid sender {sender!r}: {exc}") from None
    return str(header.addresses[0].addr_spec)
