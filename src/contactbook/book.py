"""The public entry point: wire adapters to use cases and group the calls."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from importlib.metadata import entry_points
from typing import Any, TypeVar

from contactbook.ports.clock import Clock
from contactbook.ports.delivery import Mailer, SmsGateway
from contactbook.ports.files import FileStore
from contactbook.ports.inspection import FileInspector
from contactbook.ports.security import PasswordHasher, TokenGenerator, TotpProvider
from contactbook.ports.storage import Storage
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.recording import requests_from
from contactbook.usecases._support.structuring import structure as _structure
from contactbook.usecases.accounts import Accounts
from contactbook.usecases.applications import Applications
from contactbook.usecases.audit import Audit
from contactbook.usecases.delivery import Delivery
from contactbook.usecases.facilities import Facilities
from contactbook.usecases.inmates import Inmates
from contactbook.usecases.maintenance import Maintenance
from contactbook.usecases.messages import Messages
from contactbook.usecases.moderation import Moderation
from contactbook.usecases.notices import Notices
from contactbook.usecases.personal_data import PersonalData
from contactbook.usecases.posts import Posts
from contactbook.usecases.settings import Settings
from contactbook.usecases.staff import Staff

__all__ = ["ContactBook", "bootstrap", "open", "open_from_env"]

T = TypeVar("T")

_BUILTIN: dict[str, dict[str, str]] = {
    "contactbook.storage": {
        "memory": "contactbook.adapters.storage.memory:MemoryStorage.from_url",
        "sqlite": "contactbook.adapters.storage.sqlalchemy:SqlAlchemyStorage.from_url",
        "postgresql": "contactbook.adapters.storage.sqlalchemy:SqlAlchemyStorage.from_url",
        "mysql": "contactbook.adapters.storage.sqlalchemy:SqlAlchemyStorage.from_url",
        "mariadb": "contactbook.adapters.storage.sqlalchemy:SqlAlchemyStorage.from_url",
    },
    "contactbook.mail": {
        "memory": "contactbook.adapters.mail.memory:MemoryMailer.from_url",
        "folder": "contactbook.adapters.mail.folder:FolderMailer.from_url",
        "smtp": "contactbook.adapters.mail.smtp:SmtpMailer.from_url",
        "smtps": "contactbook.adapters.mail.smtp:SmtpMailer.from_url",
    },
    "contactbook.sms": {
        "memory": "contactbook.adapters.sms.memory:MemorySmsGateway.from_url",
        "http": "contactbook.adapters.sms.http:HttpSmsGateway.from_url",
        "https": "contactbook.adapters.sms.http:HttpSmsGateway.from_url",
    },
}


def _load(target: str) -> Any:
    from importlib import import_module

    module_name, _, attribute = target.partition(":")
    obj: Any = import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


def _scheme(url: str) -> str:
    if "://" in url:
        scheme = url.split("://", 1)[0]
    elif ":" in url and not (len(url) > 1 and url[1] == ":"):
        scheme = url.split(":", 1)[0]
    else:
        scheme = ""
    return scheme.split("+", 1)[0].lower()


def _adapter(group: str, url: str, **options: Any) -> Any:
    """The adapter for ``url``: a registered entry point first, then the built-ins."""
    scheme = _scheme(url)
    for entry in entry_points(group=group):
        if entry.name == scheme:
            return entry.load()(url, **options)
    target = _BUILTIN[group].get(scheme)
    if target is None:
        known = ", ".join(sorted(_BUILTIN[group]))
        raise ValueError(f"no {group} adapter for {url!r} (known schemes: {known})")
    return _load(target)(url, **options)


class ContactBook:
    """Every use case, grouped as in ARCHITECTURE.md §3. Each use case declares what
    it acts for and on (``usecases._support.use_case``): its arguments are checked,
    its refusals audited, by that declaration."""

    def __init__(self, ctx: Context) -> None:
        self.context = ctx
        self.accounts = Accounts(ctx)
        self.inmates = Inmates(ctx)
        self.applications = Applications(ctx)
        self.posts = Posts(ctx)
        self.moderation = Moderation(ctx)
        self.delivery = Delivery(ctx)
        self.notices = Notices(ctx)
        self.messages = Messages(ctx)
        self.staff = Staff(ctx)
        self.facilities = Facilities(ctx)
        self.audit = Audit(ctx)
        self.maintenance = Maintenance(ctx)
        self.personal_data = PersonalData(ctx)

    def acting_from(self, origin: str) -> AbstractContextManager[None]:
        """Record ``origin`` (an address, a terminal) with every audit event written in
        the ``with`` block — for calls without a principal (registration, login, reset).
        Principals carry their own ``origin``; ``authenticate`` called inside the block
        returns a principal that carries this one."""
        return requests_from(origin)

    @property
    def mailer(self) -> Mailer:
        return self.context.mailer

    @property
    def sms(self) -> SmsGateway:
        return self.context.sms

    @property
    def storage(self) -> Storage:
        return self.context.storage

    @property
    def files(self) -> FileStore:
        return self.context.files

    @staticmethod
    def structure(cls: type[T], data: Any) -> T:
        """Build an input type from form fields or JSON; ``ValidationError`` per field."""
        return _structure(cls, data)

    def migrate(self) -> None:
        """Create or upgrade the database schema (SQL storage; nothing to do in memory)."""
        migrate = getattr(self.context.storage, "migrate", None)
        if callable(migrate):
            migrate()

    def close(self) -> None:
        """Release the storage and any connection the mailer or SMS gateway keeps."""
        for channel in (self.context.mailer, self.context.sms):
            close = getattr(channel, "close", None)
            if callable(close):
                close()
        self.context.storage.close()

    def __enter__(self) -> ContactBook:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def bootstrap(
    *,
    storage: Storage,
    files: FileStore,
    mailer: Mailer,
    sms: SmsGateway,
    clock: Clock | None = None,
    inspector: FileInspector | None = None,
    hasher: PasswordHasher | None = None,
    tokens: TokenGenerator | None = None,
    settings: Settings | None = None,
    totp: TotpProvider | None = None,
) -> ContactBook:
    """A ``ContactBook`` on adapters you built yourself."""
    from contactbook.adapters.clock import SystemClock
    from contactbook.adapters.security.argon2 import Argon2PasswordHasher
    from contactbook.adapters.security.tokens import SecretsTokenGenerator
    from contactbook.adapters.security.totp import PyotpTotp

    if inspector is None:
        from contactbook.adapters.files.inspector import PillowPdfInspector

        inspector = PillowPdfInspector()
    ctx = Context(
        storage=storage,
        files=files,
        inspector=inspector,
        mailer=mailer,
        sms=sms,
        clock=clock or SystemClock(),
        hasher=hasher or Argon2PasswordHasher(),
        tokens=tokens or SecretsTokenGenerator(),
        settings=settings or Settings(),
        totp=totp or PyotpTotp(),
    )
    return ContactBook(ctx)


def open(
    database: str = "sqlite:///var/contactbook.db",
    files: str = "var/files",
    mail: str = "folder:var/outbox",
    sms: str = "memory://",
    clock: Clock | None = None,
    migrate: bool = False,
    **options: Any,
) -> ContactBook:
    """A ``ContactBook`` with adapters chosen by URL (SQLAlchemy, fsspec, mail, SMS).

    A SQL database must have the current schema unless ``migrate=True`` (which
    creates or upgrades it); otherwise opening it says what to run.
    """
    from contactbook.adapters.files.fsspec import FsspecFileStore

    storage_options = {"migrate": True} if migrate and _scheme(database) != "memory" else {}
    return bootstrap(
        storage=_adapter("contactbook.storage", database, **storage_options),
        files=FsspecFileStore(files),
        mailer=_adapter("contactbook.mail", mail),
        sms=_adapter("contactbook.sms", sms),
        clock=clock,
        **options,
    )


def open_from_env(**options: Any) -> ContactBook:
    """``open`` with URLs from CONTACTBOOK_DATABASE_URL, _FILES_URL, _MAIL_URL, _SMS_URL."""
    env = os.environ
    return open(
        database=env.get("CONTACTBOOK_DATABASE_URL", "sqlite:///var/contactbook.db"),
        files=env.get("CONTACTBOOK_FILES_URL", "var/files"),
        mail=env.get("CONTACTBOOK_MAIL_URL", "folder:var/outbox"),
        sms=env.get("CONTACTBOOK_SMS_URL", "memory://"),
        **options,
    )
