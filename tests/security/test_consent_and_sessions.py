"""A new collection notice asks for consent again at login; password changes and
resets end other sessions (``session_version``), which front ends check with
``accounts.session_valid``."""

from __future__ import annotations

import attrs
import pytest

import contactbook
from contactbook.errors import PermissionDenied, ValidationError
from contactbook.testing import sample_pdf, sample_png
from tests.security.conftest import EMAIL, PASSWORD, BookFactory, audit_events, clock, link_token
from tests.security.conftest import register as register_family

NEW_PASSWORD = "a-brand-new-passphrase"


def _new_notice(book: contactbook.ContactBook, version: str = "2021-07") -> contactbook.ContactBook:
    """The same book after the embedder published a new notice version."""
    settings = attrs.evolve(book.context.settings, consent_notice_version=version)
    return contactbook.ContactBook(attrs.evolve(book.context, settings=settings))


def _apply(book: contactbook.ContactBook, principal: contactbook.FamilyPrincipal) -> object:
    return book.applications.apply(
        principal,
        contactbook.ApplicationForm(
            facility_code="A01",
            call_number="1234",
            relationship=contactbook.Relationship.CHILD,
            services=frozenset({contactbook.Service.CONTACT_BOOK}),
            id_document=contactbook.Upload.from_bytes("id.pdf", sample_pdf()),
            relationship_proof=contactbook.Upload.from_bytes("proof.png", sample_png()),
            frontal_photo=contactbook.Upload.from_bytes("photo.png", sample_png()),
        ),
    )


# -- consent ----------------------------------------------------------------------------------


def test_the_current_version_needs_no_new_consent(book: contactbook.ContactBook) -> None:
    register_family(book)
    assert book.accounts.authenticate(EMAIL, PASSWORD).needs_consent is False


def test_a_new_notice_asks_for_consent_at_login(book: contactbook.ContactBook) -> None:
    register_family(book)
    updated = _new_notice(book)
    principal = updated.accounts.authenticate(EMAIL, PASSWORD)
    assert principal.needs_consent is True
    assert updated.accounts.principal(principal.account_id).needs_consent is True
    assert updated.accounts.consent_notice().version == "2021-07"


def test_until_accepted_only_profile_and_data_rights_work(book: contactbook.ContactBook) -> None:
    register_family(book)
    updated = _new_notice(book)
    principal = updated.accounts.authenticate(EMAIL, PASSWORD)
    refused = [
        lambda: _apply(updated, principal),
        lambda: updated.notices.list_for_family(principal),
        lambda: updated.notices.months_for_family(principal),
    ]
    for call in refused:
        with pytest.raises(PermissionDenied) as caught:
            call()
        assert caught.value.code == "consent_required"
    assert updated.accounts.profile(principal).email == EMAIL
    updated.accounts.update_profile(principal, contactbook.ProfileChanges(notify_notices=True))
    updated.accounts.export_my_data(principal)


def test_accepting_the_current_version_opens_everything(book: contactbook.ContactBook) -> None:
    register_family(book)
    updated = _new_notice(book)
    principal = updated.accounts.authenticate(EMAIL, PASSWORD)
    with pytest.raises(ValidationError) as caught:
        updated.accounts.accept_consent(principal, "2020-10")  # not the notice shown now
    assert caught.value.code == "consent_version"
    clock(book).advance(minutes=5)
    accepted = updated.accounts.accept_consent(principal, "2021-07")
    assert accepted.needs_consent is False
    assert accepted.session_version == principal.session_version
    assert updated.notices.list_for_family(accepted).items == []
    assert updated.accounts.authenticate(EMAIL, PASSWORD).needs_consent is False
    with book.storage.unit_of_work() as uow:
        account = uow.accounts.by_email(EMAIL)
    assert account is not None
    assert account.consent.notice_version == "2021-07"
    assert account.consent.accepted_at == book.context.now()
    events = audit_events(book, "account.accept_consent")
    assert [dict(e.details) for e in events] == [{"notice_version": "2021-07"}]


def test_accepting_again_keeps_the_first_date(book: contactbook.ContactBook) -> None:
    register_family(book)
    principal = book.accounts.authenticate(EMAIL, PASSWORD)
    clock(book).advance(days=1)
    book.accounts.accept_consent(principal, "2020-10")
    with book.storage.unit_of_work() as uow:
        account = uow.accounts.by_email(EMAIL)
    assert account is not None and account.consent.accepted_at < book.context.now()


# -- sessions -------------------------------------------------------------------------------------


def test_a_fresh_login_is_valid(book: contactbook.ContactBook) -> None:
    register_family(book)
    principal = book.accounts.authenticate(EMAIL, PASSWORD)
    assert book.accounts.session_valid(principal)


def test_a_password_change_ends_other_sessions(book: contactbook.ContactBook) -> None:
    register_family(book)
    laptop = book.accounts.authenticate(EMAIL, PASSWORD)
    phone = book.accounts.authenticate(EMAIL, PASSWORD)
    laptop = book.accounts.change_password(laptop, PASSWORD, NEW_PASSWORD)
    assert book.accounts.session_valid(laptop)  # the session that changed it goes on
    assert not book.accounts.session_valid(phone)


def test_a_reset_ends_every_session(book: contactbook.ContactBook) -> None:
    register_family(book)
    phone = book.accounts.authenticate(EMAIL, PASSWORD)
    book.accounts.forgot_password(EMAIL)
    book.accounts.reset_password(link_token(book, EMAIL, "reset-password"), NEW_PASSWORD)
    assert not book.accounts.session_valid(phone)
    assert book.accounts.session_valid(book.accounts.authenticate(EMAIL, NEW_PASSWORD))


def test_an_ended_session_cannot_consent_its_way_into_a_fresh_one(
    book: contactbook.ContactBook,
) -> None:
    """Accepting a new notice hands out a principal: not to a session a reset ended."""
    register_family(book)
    updated = _new_notice(book)
    stolen = updated.accounts.authenticate(EMAIL, PASSWORD)
    assert stolen.needs_consent
    updated.accounts.forgot_password(EMAIL)
    updated.accounts.reset_password(link_token(updated, EMAIL, "reset-password"), NEW_PASSWORD)
    with pytest.raises(PermissionDenied) as refused:
        updated.accounts.accept_consent(stolen, "2021-07")
    assert refused.value.code == "session_ended"
    owner = updated.accounts.authenticate(EMAIL, NEW_PASSWORD)
    assert updated.accounts.session_valid(updated.accounts.accept_consent(owner, "2021-07"))


def test_a_made_up_or_unknown_principal_is_not_valid(book: contactbook.ContactBook) -> None:
    register_family(book)
    principal = book.accounts.authenticate(EMAIL, PASSWORD)
    assert not book.accounts.session_valid(attrs.evolve(principal, session_version=7))
    assert not book.accounts.session_valid(contactbook.FamilyPrincipal("no-such-account"))
    assert not book.accounts.session_valid(contactbook.StaffPrincipal("x"))  # type: ignore[arg-type]


def test_password_changes_and_resets_are_mailed(make_book: BookFactory) -> None:
    book = make_book()
    register_family(book)
    principal = book.accounts.authenticate(EMAIL, PASSWORD)
    book.accounts.change_password(principal, PASSWORD, NEW_PASSWORD)
    book.accounts.forgot_password(EMAIL)
    book.accounts.reset_password(link_token(book, EMAIL, "reset-password"), PASSWORD + "!")
    book.messages.dispatch()
    changed = [m for m in book.mailer.outbox if "密碼已變更" in m.subject]  # type: ignore[attr-defined]
    assert len(changed) == 2
