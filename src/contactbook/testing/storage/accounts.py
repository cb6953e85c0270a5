"""Family accounts and their one-time tokens: round trips, the unique e-mail and
national id, lookups, token revocation and single use under races."""

from __future__ import annotations

from datetime import datetime

import attrs
import pytest

from contactbook.domain.account import AccountStatus, TokenPurpose
from contactbook.domain.identifiers import EmailAddress, MobileNumber, NationalId, PhoneNumber
from contactbook.domain.versioning import next_version
from contactbook.errors import Conflict
from contactbook.ports.storage import Storage
from contactbook.testing.storage.builders import (
    ACCOUNT,
    OTHER_ACCOUNT,
    at,
    make_account,
    make_other_account,
    make_token,
    seed,
    sha256,
)
from contactbook.testing.storage.checks import assert_every_field_set
from contactbook.testing.storage.fixtures import StorageFixtures
from contactbook.testing.storage.rules import (
    Kind,
    Rule,
    assert_duplicate,
    each_shared_rule,
    round_trip,
)

__all__ = ["AccountsContract"]


_ACCOUNTS_KIND = Kind(
    "accounts",
    make=lambda: make_account(
        "acc-chang",
        name="張美華",
        national_id=NationalId.parse("H223456788"),
        email=EmailAddress.parse("chang.meihua@example.com.tw"),
    ),
    same_key=lambda account: make_account(
        account.id,
        national_id=NationalId.parse("E123456783"),
        email=EmailAddress.parse("someone.else@example.com.tw"),
    ),
    changed=lambda account: next_version(account, name="張美樺"),
)

_TOKENS_KIND = Kind(
    "tokens",
    make=lambda: make_token("tok-new"),
    same_key=lambda token: attrs.evolve(token, token_hash=sha256("another secret")),
    changed=lambda token: attrs.evolve(token, used_at=at(1)),
)


class AccountsContract(StorageFixtures):
    """The ``accounts`` and ``tokens`` repositories.

    Fixtures: ``storage``, ``world`` (seeded from it).
    """

    # --- Round trips ------------------------------------------------------------------

    def test_account_round_trip(self, storage: Storage) -> None:
        full = make_account(
            "acc-full",
            name="王小明",
            national_id=NationalId.parse("A123456789"),
            email=EmailAddress.parse("Wang.XiaoMing@Example.com.TW"),  # local part keeps case
            phone=PhoneNumber.parse("(02) 2345-6789 #12"),
            mobile=MobileNumber.parse("0912345678"),
            status=AccountStatus.LOCKED,
            failed_logins=5,
            locked_until=at(1),
            rejected_posts=2,
            posting_suspended_until=at(24 * 30),
            session_version=3,
            notify_delivery=True,
            notify_notices=True,
            deletion_requested_at=at(2),
            version=7,
        )
        assert_every_field_set(full)
        minimal = make_account(
            "acc-minimal",
            name="李大華",
            national_id=NationalId.parse("B223456782"),
            email=EmailAddress.parse("lee.dahua@example.com.tw"),
            status=AccountStatus.UNVERIFIED,
            verified_at=None,
        )
        round_trip(storage, _ACCOUNTS_KIND, full, minimal)

    def test_token_round_trip(self, world: Storage) -> None:
        full = make_token(
            "tok-full", purpose=TokenPurpose.RESET_PASSWORD, account_id=OTHER_ACCOUNT, used_at=at(1)
        )
        assert_every_field_set(full)
        round_trip(world, _TOKENS_KIND, full, make_token("tok-minimal"))

    def test_erased_accounts_round_trip_and_never_clash(self, world: Storage) -> None:
        erased = [
            make_account(
                f"acc-erased-{n}",
                name="王○○",
                national_id=NationalId.erased(f"{n:015x}"),
                email=EmailAddress.parse(f"erased-{n}@erased.example"),
                status=AccountStatus.CLOSED,
            )
            for n in (1, 2)
        ]
        seed(world, *erased)
        with world.unit_of_work() as uow:
            assert [uow.accounts.get(a.id) for a in erased] == erased
            assert uow.accounts.by_national_id(erased[0].national_id.value) == erased[0]

    # --- Unique rules and compare-and-set ---------------------------------------------

    @each_shared_rule(_ACCOUNTS_KIND, _TOKENS_KIND)
    def test_accounts_shared_rules(self, world: Storage, rule: Rule, kind: Kind) -> None:
        rule(world, kind)

    def test_accounts_are_unique_by_canonical_email(self, world: Storage) -> None:
        twin = make_account(
            "acc-twin",
            national_id=NationalId.parse("H223456788"),
            email=EmailAddress.parse("WANG.XIAOMING@example.com.tw"),
        )
        assert twin.email.canonical == make_account().email.canonical
        assert_duplicate(world, lambda uow: uow.accounts.add(twin))
        with world.unit_of_work() as uow:
            assert uow.accounts.get("acc-twin") is None

    def test_accounts_are_unique_by_national_id(self, world: Storage) -> None:
        twin = make_account(
            "acc-twin",
            national_id=NationalId.parse("a123456789"),
            email=EmailAddress.parse("another.wang@example.com.tw"),
        )
        assert_duplicate(world, lambda uow: uow.accounts.add(twin))
        with world.unit_of_work() as uow:
            assert uow.accounts.get("acc-twin") is None

    def test_tokens_are_unique_by_hash(self, world: Storage) -> None:
        seed(world, make_token("tok-1"))
        twin = make_token("tok-2", token_hash=make_token("tok-1").token_hash)
        assert_duplicate(world, lambda uow: uow.tokens.add(twin))

    def test_a_token_is_used_once_by_two_racing_units_of_work(self, world: Storage) -> None:
        seed(world, make_token("tok-1"))
        with world.unit_of_work() as uow:
            read_by_first = uow.tokens.by_hash(make_token("tok-1").token_hash)
        with world.unit_of_work() as uow:
            read_by_second = uow.tokens.by_hash(make_token("tok-1").token_hash)
        assert read_by_first is not None and read_by_second is not None
        with world.unit_of_work() as uow:
            uow.tokens.replace(read_by_first, attrs.evolve(read_by_first, used_at=at(1)))
            uow.commit()
        with world.unit_of_work() as uow, pytest.raises(Conflict) as raised:
            uow.tokens.replace(read_by_second, attrs.evolve(read_by_second, used_at=at(2)))
        assert raised.value.code == "stale_version"
        with world.unit_of_work() as uow:
            assert uow.tokens.by_hash(make_token("tok-1").token_hash) == make_token(
                "tok-1", used_at=at(1)
            )

    def test_a_token_is_used_once_inside_one_unit_of_work(self, world: Storage) -> None:
        token = make_token("tok-1")
        seed(world, token)
        with world.unit_of_work() as uow:
            uow.tokens.replace(token, attrs.evolve(token, used_at=at(1)))
            with pytest.raises(Conflict) as raised:
                uow.tokens.replace(token, attrs.evolve(token, used_at=at(2)))
        assert raised.value.code == "stale_version"

    # --- Lookups ----------------------------------------------------------------------

    def test_accounts_by_email_and_national_id(self, world: Storage) -> None:
        with world.unit_of_work() as uow:
            canonical = EmailAddress.parse("Wang.XiaoMing@Example.com.tw").canonical
            assert uow.accounts.by_email(canonical) == make_account()
            assert uow.accounts.by_email("nobody@example.com.tw") is None
            assert uow.accounts.by_national_id("B223456782") == make_other_account()
            assert uow.accounts.by_national_id("H223456788") is None

    def test_token_by_hash(self, world: Storage) -> None:
        seed(world, make_token("tok-1"), make_token("tok-2"))
        with world.unit_of_work() as uow:
            assert uow.tokens.by_hash(make_token("tok-2").token_hash) == make_token("tok-2")
            assert uow.tokens.by_hash(sha256("unknown")) is None

    def test_revoke_unused_marks_only_the_unused_tokens_of_that_account_and_purpose(
        self, world: Storage
    ) -> None:
        reset = {"purpose": TokenPurpose.RESET_PASSWORD}
        seed(
            world,
            make_token("tok-reset-1", **reset),
            make_token("tok-reset-2", **reset),
            make_token("tok-reset-used", used_at=at(1), **reset),
            make_token("tok-verify"),
            make_token("tok-reset-other", account_id=OTHER_ACCOUNT, **reset),
        )
        with world.unit_of_work() as uow:
            revoked = uow.tokens.revoke_unused(ACCOUNT, TokenPurpose.RESET_PASSWORD, at(2))
            uow.commit()
        with world.unit_of_work() as uow:

            def used_at(token_id: str) -> datetime | None:
                found = uow.tokens.by_hash(make_token(token_id).token_hash)
                assert found is not None
                return found.used_at

            assert revoked == 2
            assert used_at("tok-reset-1") == at(2)
            assert used_at("tok-reset-2") == at(2)
            assert used_at("tok-reset-used") == at(1)  # kept as it was
            assert used_at("tok-verify") is None  # another purpose
            assert used_at("tok-reset-other") is None  # another account
            assert uow.tokens.revoke_unused(ACCOUNT, TokenPurpose.RESET_PASSWORD, at(3)) == 0
