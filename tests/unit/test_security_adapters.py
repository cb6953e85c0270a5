"""Password hashers (argon2id and the test-only fake), tokens and the system clock."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest

from contactbook.adapters.clock import SystemClock
from contactbook.adapters.security.argon2 import Argon2PasswordHasher
from contactbook.adapters.security.tokens import SecretsTokenGenerator
from contactbook.ports.clock import Clock
from contactbook.ports.security import PasswordHasher, TokenGenerator
from contactbook.testing.fakes import FastPasswordHasher

PASSWORD = "正確的密碼 Correct-Horse-9"


@pytest.fixture(scope="module")
def argon2_hasher() -> Argon2PasswordHasher:
    return Argon2PasswordHasher()


@pytest.fixture(params=["argon2", "fast"])
def hasher(request: pytest.FixtureRequest, argon2_hasher: Argon2PasswordHasher) -> PasswordHasher:
    return argon2_hasher if request.param == "argon2" else FastPasswordHasher()


def test_verify_accepts_the_right_password(hasher: PasswordHasher) -> None:
    assert hasher.verify(hasher.hash(PASSWORD), PASSWORD) is True


@pytest.mark.parametrize("wrong", ["", "正確的密碼 correct-horse-9", PASSWORD + " ", "x" * 200])
def test_verify_refuses_a_wrong_password_without_raising(
    hasher: PasswordHasher, wrong: str
) -> None:
    assert hasher.verify(hasher.hash(PASSWORD), wrong) is False


@pytest.mark.parametrize(
    "broken",
    ["", "not a hash", "$argon2id$v=19$m=19456,t=2,p=1$garbage", "fake$", "fake$a$b$c", "密碼"],
)
def test_verify_of_a_broken_hash_is_false(hasher: PasswordHasher, broken: str) -> None:
    assert hasher.verify(broken, PASSWORD) is False


def test_hash_differs_per_call(hasher: PasswordHasher) -> None:
    assert hasher.hash(PASSWORD) != hasher.hash(PASSWORD)


def test_hash_does_not_contain_the_password(hasher: PasswordHasher) -> None:
    assert "Correct-Horse" not in hasher.hash(PASSWORD)


def test_fresh_hash_needs_no_rehash(hasher: PasswordHasher) -> None:
    assert hasher.needs_rehash(hasher.hash(PASSWORD)) is False


def test_argon2_parameters_are_argon2id_m19456_t2_p1(argon2_hasher: Argon2PasswordHasher) -> None:
    encoded = argon2_hasher.hash(PASSWORD)
    match = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([^$]+)\$([^$]+)", encoded)
    assert match, encoded
    memory, time, parallel = (int(match.group(i)) for i in (1, 2, 3))
    assert memory >= 19456
    assert (time, parallel) == (2, 1)
    salt = base64.b64decode(match.group(4) + "==")
    digest = base64.b64decode(match.group(5) + "==")
    assert len(salt) >= 16 and len(digest) >= 32


def test_argon2_parameters_are_configurable() -> None:
    hasher = Argon2PasswordHasher(memory_cost=65536, time_cost=3, parallelism=2)
    assert "$m=65536,t=3,p=2$" in hasher.hash(PASSWORD)


def test_argon2_weaker_old_hash_verifies_but_needs_rehash(
    argon2_hasher: Argon2PasswordHasher,
) -> None:
    old = Argon2PasswordHasher(memory_cost=1024, time_cost=1).hash(PASSWORD)
    assert argon2_hasher.verify(old, PASSWORD)
    assert argon2_hasher.needs_rehash(old)


def test_argon2_does_not_accept_fake_hashes_and_wants_them_replaced(
    argon2_hasher: Argon2PasswordHasher,
) -> None:
    fake = FastPasswordHasher().hash(PASSWORD)
    assert argon2_hasher.verify(fake, PASSWORD) is False
    assert argon2_hasher.needs_rehash(fake) is True


def test_fast_hasher_is_marked_fake() -> None:
    assert FastPasswordHasher().hash(PASSWORD).startswith("fake$")


def test_tokens_are_url_safe_with_at_least_128_bits() -> None:
    generator: TokenGenerator = SecretsTokenGenerator()
    tokens = {generator.new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
        raw = base64.urlsafe_b64decode(token + "=")
        assert len(raw) * 8 >= 128


def test_token_generator_refuses_short_tokens() -> None:
    with pytest.raises(ValueError):
        SecretsTokenGenerator(nbytes=8)


def test_digest_is_stable_sha256_hex_and_differs_from_the_token() -> None:
    generator = SecretsTokenGenerator()
    token = generator.new_token()
    digest = generator.digest(token)
    assert digest == SecretsTokenGenerator().digest(token)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest != token
    assert generator.digest(generator.new_token()) != digest
    assert generator.digest("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_system_clock_is_aware_utc_and_current() -> None:
    clock: Clock = SystemClock()
    now = clock.now()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
