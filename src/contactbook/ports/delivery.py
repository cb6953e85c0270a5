"""Sending mail and SMS. Adapters raise these two errors to tell retry from give up."""

from __future__ import annotations

from typing import Protocol

import attrs

__all__ = [
    "DeliveryServiceUnavailable",
    "Mailer",
    "OutgoingMail",
    "OutgoingSms",
    "PermanentDeliveryFailure",
    "SmsGateway",
    "TemporaryDeliveryFailure",
]


class TemporaryDeliveryFailure(Exception):
    """Try again later (server down, 4xx, timeout)."""


class DeliveryServiceUnavailable(TemporaryDeliveryFailure):
    """The server cannot be reached at all: stop this batch, try again later."""


class PermanentDeliveryFailure(Exception):
    """Never try again (5xx, bad address)."""


@attrs.frozen
class OutgoingMail:
    message_id: str
    to: str
    subject: str
    body: str


@attrs.frozen
class OutgoingSms:
    message_id: str
    to: str
    body: str


class Mailer(Protocol):
    """Sends one mail. An adapter keeping a connection for a batch may also offer
    ``close()``; the dispatcher calls it after each batch when present."""

    def send(self, mail: OutgoingMail) -> None: ...


class SmsGateway(Protocol):
    def send(self, sms: OutgoingSms) -> None: ...
