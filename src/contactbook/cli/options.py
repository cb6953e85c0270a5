"""What the commands share: the adapter and login options, and a book whose refusals
end the command with their message instead of a traceback."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import attrs
import click

import contactbook
from contactbook.errors import ContactBookError

Command = TypeVar("Command", bound=Callable[..., Any])

DATABASE = click.option(
    "--database",
    envvar="CONTACTBOOK_DATABASE_URL",
    default="sqlite:///var/contactbook.db",
    show_default=True,
    help="SQLAlchemy URL of the database (or memory://).",
)


def open_book(database: str, files: str, mail: str, sms: str) -> contactbook.ContactBook:
    return contactbook.open(database=database, files=files, mail=mail, sms=sms)


def options(*options: Callable[[Command], Command]) -> Callable[[Command], Command]:
    """Several options as one decorator, listed in ``--help`` in the order given."""

    def apply(command: Command) -> Command:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


FILES = click.option(
    "--files", envvar="CONTACTBOOK_FILES_URL", default="var/files", show_default=True
)
MAIL = click.option(
    "--mail", envvar="CONTACTBOOK_MAIL_URL", default="folder:var/outbox", show_default=True
)
SMS = click.option("--sms", envvar="CONTACTBOOK_SMS_URL", default="memory://", show_default=True)
AS_STAFF = click.option(
    "--as",
    "username",
    envvar="CONTACTBOOK_STAFF_USERNAME",
    required=True,
    help="The staff member acting (an administrator).",
)
PASSWORD = click.option(
    "--password",
    envvar="CONTACTBOOK_STAFF_PASSWORD",
    prompt=True,
    hide_input=True,
    help="Their password (asked when not given).",
)
TOTP = click.option("--totp", "totp_code", default=None, help="Their current TOTP code.")

ADAPTERS = options(DATABASE, FILES, MAIL, SMS)
"""Where the book keeps its data and sends its messages (as ``contactbook.open``)."""
LOGIN_OPTIONS = options(AS_STAFF, PASSWORD, TOTP)


@contextlib.contextmanager
def refusals_end_the_command(
    database: str, files: str, mail: str, sms: str
) -> Iterator[contactbook.ContactBook]:
    """The book, closed afterwards; a refusal of the library (a wrong password
    included) ends the command with its message instead of a traceback."""
    book = open_book(database, files, mail, sms)
    try:
        yield book
    except ContactBookError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        book.close()


@attrs.frozen
class StaffLogin:
    """Who acts (a staff member's login) and on which book (the adapter URLs)."""

    username: str
    password: str = attrs.field(repr=False)
    totp_code: str | None = attrs.field(repr=False)
    database: str
    files: str
    mail: str
    sms: str

    @contextlib.contextmanager
    def signed_in(self) -> Iterator[tuple[contactbook.ContactBook, contactbook.StaffPrincipal]]:
        """The book and the signed-in member (see :func:`refusals_end_the_command`)."""
        with refusals_end_the_command(self.database, self.files, self.mail, self.sms) as book:
            yield book, book.staff.authenticate(self.username, self.password, self.totp_code)


def as_staff(command: Callable[..., None]) -> Callable[..., None]:
    """The login and adapter options, handed to ``command`` as one ``login`` argument."""

    @functools.wraps(command)
    def run(
        *args: Any,
        username: str,
        password: str,
        totp_code: str | None,
        database: str,
        files: str,
        mail: str,
        sms: str,
        **kwargs: Any,
    ) -> None:
        login = StaffLogin(username, password, totp_code, database, files, mail, sms)
        command(*args, login=login, **kwargs)

    return LOGIN_OPTIONS(ADAPTERS(run))
