"""The console script: schema upgrades, workers, roster import and staff administration."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

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


ADMIN_PASSWORD = "correct-horse-battery-staple"


def _admin_book(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cb.db'}"
    book = contactbook.open(
        database=url, files=str(tmp_path / "files"), mail="memory://", migrate=True
    )
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", ADMIN_PASSWORD)
    admin = book.staff.authenticate("agency.admin", ADMIN_PASSWORD)
    book.facilities.add(admin, "KLP", "基隆監獄")
    book.close()
    return url


def _as_admin(tmp_path: Path, url: str, *args: str, input: str | None = None) -> Any:
    """``contactbook ARGS`` as the Agency admin of ``_admin_book``."""
    return CliRunner().invoke(
        main,
        [
            *args,
            "--as",
            "agency.admin",
            "--password",
            ADMIN_PASSWORD,
            "--database",
            url,
            "--files",
            str(tmp_path / "files"),
            "--mail",
            f"folder:{tmp_path / 'outbox'}",
        ],
        input=input,
    )


def test_roster_import_reports_rejected_rows_by_file_line(tmp_path: Path) -> None:
    url = _admin_book(tmp_path)
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "call_number,name,gender,has_minor_children,restrictions\n"
        "0609,李大華,男,是,\n"
        "06-09,張國強,男,否,\n"
        "0619,葉志明,男,否,isolation\n",
        encoding="utf-8",
    )
    result = _as_admin(tmp_path, url, "roster", "import", str(roster), "--facility", "KLP")
    assert result.exit_code == 1, result.output
    assert "added 2, updated 0, left 0, rejected 1" in result.output
    assert "line 3: call_number_format" in result.output


def test_staff_create_asks_for_the_new_password(tmp_path: Path) -> None:
    url = _admin_book(tmp_path)
    result = _as_admin(
        tmp_path,
        url,
        *("staff", "create", "klp.reviewer", "--name", "陳審核", "--facility", "KLP"),
        *("--role", "reviewer"),
        input="a-long-staff-passphrase\na-long-staff-passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "created klp.reviewer (reviewer)" in result.output
    book = contactbook.open(database=url, files=str(tmp_path / "files"), mail="memory://")
    assert book.staff.authenticate("klp.reviewer", "a-long-staff-passphrase")
    book.close()


def test_a_wrong_admin_password_is_a_clear_error(tmp_path: Path) -> None:
    url = _admin_book(tmp_path)
    result = CliRunner().invoke(
        main,
        [
            "staff",
            "create",
            "x.reviewer",
            "--name",
            "x",
            "--role",
            "reviewer",
            "--as",
            "agency.admin",
            "--password",
            "wrong-password-here",
            "--new-password",
            "a-long-staff-passphrase",
            "--database",
            url,
            "--files",
            str(tmp_path / "files"),
        ],
    )
    assert result.exit_code == 1
    assert "authentication_failed" in result.output


def test_sweep_files_reports_what_it_did(tmp_path: Path) -> None:
    url = _admin_book(tmp_path)
    result = CliRunner().invoke(
        main, ["sweep-files", "--database", url, "--files", str(tmp_path / "files")]
    )
    assert result.exit_code == 0, result.output
    assert "removed 0, missing 0, corrupted 0" in result.output


def test_retention_reports_what_it_removed(tmp_path: Path) -> None:
    url = _admin_book(tmp_path)
    result = CliRunner().invoke(
        main, ["retention", "--database", url, "--files", str(tmp_path / "files")]
    )
    assert result.exit_code == 0, result.output
    assert "delivered posts 0" in result.output
    assert "closed accounts 0" in result.output


def _with_reviewers(tmp_path: Path) -> str:
    """``_admin_book`` plus two KLP reviewers: 陳美玲 (e-mail, TOTP set up) and 李華."""
    url = _admin_book(tmp_path)
    book = contactbook.open(database=url, files=str(tmp_path / "files"), mail="memory://")
    admin = book.staff.authenticate("agency.admin", ADMIN_PASSWORD)
    role = [contactbook.Role.REVIEWER]
    book.staff.create(
        admin, "mei.chen", "陳美玲", ADMIN_PASSWORD, "KLP", role, email="mei.chen@example.gov.tw"
    )
    book.staff.create(admin, "li.hua", "李華", ADMIN_PASSWORD, "KLP", role)
    book.staff.enroll_totp(book.staff.authenticate("mei.chen", ADMIN_PASSWORD))
    book.close()
    return url


def test_staff_list_shows_the_members_in_scope(tmp_path: Path) -> None:
    url = _with_reviewers(tmp_path)
    result = _as_admin(tmp_path, url, "staff", "list", "--facility", "KLP")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "KLP" in line]
    assert [line.split()[1] for line in lines] == ["li.hua", "mei.chen"]
    everyone = _as_admin(tmp_path, url, "staff", "list")
    assert "agency.admin" in everyone.output and "(Agency)" in everyone.output


def test_staff_reset_password_mails_a_link_or_prints_one_to_hand_over(tmp_path: Path) -> None:
    url = _with_reviewers(tmp_path)
    mailed = _as_admin(tmp_path, url, "staff", "reset-password", "mei.chen")
    assert mailed.exit_code == 0, mailed.output
    assert "reset link mailed to me*****" in mailed.output
    handed = _as_admin(tmp_path, url, "staff", "reset-password", "LI.HUA")
    assert handed.exit_code == 0, handed.output
    # the member gets the link: who they are and the token, nothing the admin must add
    link = re.fullmatch(
        r"\S+/staff/reset-password\?staff=(\S+)&token=(\S+)", handed.output.strip().splitlines()[-1]
    )
    assert link, handed.output
    book = contactbook.open(database=url, files=str(tmp_path / "files"), mail="memory://")
    book.staff.complete_reset(link.group(1), link.group(2), "a-new-staff-passphrase")
    assert book.staff.authenticate("li.hua", "a-new-staff-passphrase").staff_id == link.group(1)
    book.close()


def test_staff_clear_totp_and_its_refusals(tmp_path: Path) -> None:
    url = _with_reviewers(tmp_path)
    cleared = _as_admin(tmp_path, url, "staff", "clear-totp", "mei.chen")
    assert cleared.exit_code == 0, cleared.output
    assert "two-step verification of mei.chen cleared" in cleared.output
    again = _as_admin(tmp_path, url, "staff", "clear-totp", "mei.chen")
    assert again.exit_code == 1
    assert (
        "此人員尚未設定兩步驟驗證，無須清除。" in again.output
        and "[totp_not_enrolled]" in again.output
    )
    own = _as_admin(tmp_path, url, "staff", "clear-totp", "agency.admin")
    assert own.exit_code == 1 and "[totp_clear_own]" in own.output
    nobody = _as_admin(tmp_path, url, "staff", "clear-totp", "no.such.member")
    assert nobody.exit_code == 1 and "[not_found]" in nobody.output


def test_staff_set_roles_deactivate_and_reactivate(tmp_path: Path) -> None:
    url = _with_reviewers(tmp_path)
    roles = _as_admin(tmp_path, url, "staff", "set-roles", "li.hua", "--role", "publisher")
    assert roles.exit_code == 0, roles.output
    assert "li.hua: publisher" in roles.output
    closed = _as_admin(tmp_path, url, "staff", "deactivate", "li.hua")
    assert closed.exit_code == 0 and "li.hua deactivated" in closed.output
    listed = _as_admin(tmp_path, url, "staff", "list", "--facility", "KLP").output
    assert [line.split()[-2] for line in listed.splitlines() if "li.hua" in line] == ["no"]
    again = _as_admin(tmp_path, url, "staff", "deactivate", "li.hua")
    assert again.exit_code == 1 and "[staff_inactive]" in again.output
    opened = _as_admin(tmp_path, url, "staff", "reactivate", "li.hua")
    assert opened.exit_code == 0 and "li.hua reactivated" in opened.output
    own = _as_admin(tmp_path, url, "staff", "deactivate", "agency.admin")
    assert own.exit_code == 1 and "[staff_own_account]" in own.output


def test_staff_recover_admin_is_the_break_glass_for_the_only_agency_admin(
    tmp_path: Path,
) -> None:
    url = _admin_book(tmp_path)
    book = contactbook.open(database=url, files=str(tmp_path / "files"), mail="memory://")
    book.staff.enroll_totp(book.staff.authenticate("agency.admin", ADMIN_PASSWORD))
    book.close()
    command = ["staff", "recover-admin", "agency.admin", "--database", url]
    command += ["--files", str(tmp_path / "files"), "--mail", f"folder:{tmp_path / 'outbox'}"]
    unexplained = CliRunner().invoke(main, command)
    assert unexplained.exit_code == 2 and "--reason" in unexplained.output
    result = CliRunner().invoke(main, [*command, "--reason", "手機遺失（工單 1007）"])
    assert result.exit_code == 0, result.output
    assert "two-step verification of agency.admin cleared" in result.output
    again = CliRunner().invoke(main, [*command, "--reason", "再一次"])
    assert again.exit_code == 1 and "[totp_not_enrolled]" in again.output
