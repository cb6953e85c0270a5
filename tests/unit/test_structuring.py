"""Front ends hand dicts to book.structure and get one ValidationError per field."""

from __future__ import annotations

from datetime import date

import pytest

import contactbook
from contactbook.errors import ValidationError


def test_form_fields_become_an_input_type() -> None:
    form = contactbook.ContactBook.structure(
        contactbook.RegistrationForm,
        {
            "consent": "on",
            "name": "王小明",
            "birth_date": "1985/03/14",
            "national_id": "A123456789",
            "email": "ty.wang@example.com",
            "password": "x" * 12,
        },
    )
    assert form.consent is True
    assert form.birth_date == date(1985, 3, 14)


def test_roster_row_accepts_comma_separated_restrictions() -> None:
    row = contactbook.ContactBook.structure(
        contactbook.RosterRow,
        {"call_number": "0609", "name": "李大華", "restrictions": "isolation,communication_ban"},
    )
    assert row.restrictions == {
        contactbook.Restriction.ISOLATION,
        contactbook.Restriction.COMMUNICATION_BAN,
    }


def test_bad_fields_are_reported_by_path() -> None:
    with pytest.raises(ValidationError) as caught:
        contactbook.ContactBook.structure(
            contactbook.RegistrationForm,
            {
                "consent": "maybe",
                "name": "王小明",
                "birth_date": "yesterday",
                "national_id": "A123456789",
                "email": "ty.wang@example.com",
            },
        )
    assert caught.value.code == "invalid_input"
    assert caught.value.fields == {
        "consent": "boolean_format",
        "birth_date": "date_format",
        "password": "field_required",
    }
