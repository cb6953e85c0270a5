"""The console script: schema upgrades and one dispatcher batch."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

import contactbook
from contactbook.adapters.storage.sqlalchemy import SchemaNotCurrent
from contactbook.cli import main
from contactbook.testing import FastPasswordHasher


def test_db_upgrade_makes_a_database_usable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cb.db'}"
    with pytest.raises(SchemaNotCurrent) as caught:
        contactbook.open(database=url, files=str(tmp_path / "files"))
    assert "contactbook db upgrade" in str(caught.value)

    runner = CliRunner()
    result = runner.invoke(main, ["db", "upgrade", "--database", url])
    assert result.exit_code == 0, result.output
    assert "is at revision" in result.output
    contactbook.open(database=url, files=str(tmp_path / "files")).close()

    current = runner.invoke(main, ["db", "current", "--database", url])
    assert current.exit_code == 0
    assert current.output.strip().endswith(result.output.strip().rsplit(" ", 1)[1])


def test_dispatch_once_sends_the_outbox_to_the_mail_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cb.db'}"
    outbox = tmp_path / "outbox"
    book = contactbook.open(
        database=url,
        files=str(tmp_path / "files"),
        mail=f"folder:{outbox}",
        migrate=True,
        hasher=FastPasswordHasher(),
    )
    book.accounts.register(
        contactbook.RegistrationForm(
            consent=True,
            name="王小明",
            birth_date=date(1985, 3, 14),
            national_id="A123456789",
            email="ty.wang@example.com",
            password="family-passphrase-2020",
        )
    )
    book.close()

    result = CliRunner().invoke(
        main,
        [
            "dispatch",
            "--once",
            "--database",
            url,
            "--files",
            str(tmp_path / "files"),
            "--mail",
            f"folder:{outbox}",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "sent 1, retrying 0, failed 0" in result.output
    assert len(list(outbox.glob("*.eml"))) == 1
