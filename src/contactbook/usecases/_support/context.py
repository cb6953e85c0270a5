"""The ports a use case works with, bundled once by ``bootstrap``."""

from __future__ import annotations

import uuid
from datetime import datetime

import attrs

from contactbook.domain.time import utc
from contactbook.ports.clock import Clock
from contactbook.ports.delivery import Mailer, SmsGateway
from contactbook.ports.files import FileStore
from contactbook.ports.inspection import FileInspector
from contactbook.ports.security import PasswordHasher, TokenGenerator, TotpProvider
from contactbook.ports.storage import Storage, UnitOfWork
from contactbook.usecases.settings import Settings

__all__ = ["Context", "new_id"]


def new_id() -> str:
    """Random, unguessable identifiers: ids in URLs must not be enumerable."""
    return uuid.uuid4().hex


@attrs.frozen
class Context:
    storage: Storage
    files: FileStore
    inspector: FileInspector
    mailer: Mailer
    sms: SmsGateway
    clock: Clock
    hasher: PasswordHasher
    tokens: TokenGenerator
    settings: Settings = attrs.field(factory=Settings)
    totp: TotpProvider | None = None
    """Staff TOTP second factor; ``bootstrap`` wires pyotp's."""

    def now(self) -> datetime:
        return utc(self.clock.now())

    def uow(self) -> UnitOfWork:
        return self.storage.unit_of_work()
