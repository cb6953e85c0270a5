"""What the account use cases share: the views they return and the steps several
of them take (one-time tokens, the verification mail, principals, new passwords)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import attrs

from contactbook.domain.account import (
    AccountStatus,
    FamilyMember,
    OneTimeToken,
    TokenPurpose,
)
from contactbook.domain.identifiers import EmailAddress, MobileNumber, NationalId, PhoneNumber
from contactbook.domain.message import MessageCause
from contactbook.domain.text import clean_line
from contactbook.errors import (
    InvalidToken,
    ValidationError,
)
from contactbook.i18n import translate
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support.context import Context, new_id
from contactbook.usecases._support.notifications import queue_mail
from contactbook.usecases._support.passwords import check_new_password
from contactbook.usecases._support.recording import record
from contactbook.usecases.forms import RegistrationForm
from contactbook.usecases.principals import FamilyPrincipal

__all__ = [
    "ConsentNotice",
    "ProfileView",
    "RegistrationReceipt",
    "issue_token",
    "parse_registration",
    "principal_of",
    "profile_view",
    "record_failure",
    "replaced",
    "send_verification",
    "set_password",
    "use_token",
]


@attrs.frozen
class ConsentNotice:
    """個人資料蒐集告知聲明: shown before registration; its version is stored."""

    version: str
    title: str
    text: str
    title_en: str
    text_en: str


@attrs.frozen
class RegistrationReceipt:
    """註冊成功，帳號驗證信件已寄至信箱：ty*****. Identical for new and existing addresses."""

    masked_email: str

    @property
    def message(self) -> str:
        return translate("page.registration_done", "zh_TW", email=self.masked_email)


@attrs.frozen
class ProfileView:
    account_id: str
    name: str
    birth_date: date
    national_id: str
    email: str
    mobile: str
    phone: str
    status: AccountStatus
    notify_delivery: bool
    notify_notices: bool
    posting_suspended_until: datetime | None


def parse_registration(form: RegistrationForm) -> dict[str, Any]:
    """Every field checked; all problems reported together, field by field."""
    if not form.consent:
        raise ValidationError("consent_required", fields={"consent": "consent_required"})
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}

    def attempt(field: str, parse: Any, raw: Any) -> None:
        try:
            values[field] = parse(raw)
        except ValidationError as exc:
            problems[field] = exc.code

    attempt("name", lambda raw: clean_line(raw, field="name", max_chars=50), form.name)
    attempt("national_id", NationalId.parse, form.national_id)
    attempt("email", EmailAddress.parse, form.email)
    if form.mobile.strip():
        attempt("mobile", MobileNumber.parse, form.mobile)
    if form.phone.strip():
        attempt("phone", PhoneNumber.parse, form.phone)
    if not isinstance(form.birth_date, date):
        problems["birth_date"] = "date_format"
    if problems:
        first = next(iter(problems.values()))
        raise ValidationError(first, fields=problems)
    return values


def issue_token(ctx: Context, uow: UnitOfWork, account: FamilyMember, purpose: TokenPurpose) -> str:
    token = ctx.tokens.new_token()
    ttl = (
        ctx.settings.verification_token_ttl
        if purpose is TokenPurpose.VERIFY_EMAIL
        else ctx.settings.reset_token_ttl
    )
    now = ctx.now()
    uow.tokens.add(
        OneTimeToken(
            id=new_id(),
            account_id=account.id,
            purpose=purpose,
            token_hash=ctx.tokens.digest(token),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token


def send_verification(ctx: Context, uow: UnitOfWork, account: FamilyMember) -> None:
    token = issue_token(ctx, uow, account, TokenPurpose.VERIFY_EMAIL)
    link = f"{ctx.settings.base_url.rstrip('/')}/verify?token={token}"
    queue_mail(
        ctx,
        uow,
        MessageCause.REGISTRATION_VERIFICATION,
        to=account.email.value,
        account=account,
        secrets={"link": link},
    )


def use_token(ctx: Context, uow: UnitOfWork, raw: str, purpose: TokenPurpose) -> FamilyMember:
    """Consume a token; unknown, used, expired or other-purpose all look the same."""
    token = uow.tokens.by_hash(ctx.tokens.digest(raw.strip())) if raw.strip() else None
    now = ctx.now()
    if token is None or token.purpose is not purpose or not token.usable(now):
        raise InvalidToken()
    account = uow.accounts.get(token.account_id)
    if account is None or account.status is AccountStatus.CLOSED:
        raise InvalidToken()
    uow.tokens.replace(token, token.used(now))
    return account


def record_failure(ctx: Context, action: str, actor: FamilyMember | None = None) -> None:
    with ctx.uow() as uow:
        target = actor.id if actor else None
        record(ctx, uow, actor, action, "account", target, outcome="failure")
        uow.commit()


def principal_of(ctx: Context, account: FamilyMember) -> FamilyPrincipal:
    return FamilyPrincipal(
        account.id,
        account.session_version,
        needs_consent=account.needs_consent(ctx.settings.consent_notice_version),
    )


def set_password(ctx: Context, uow: UnitOfWork, account: FamilyMember, password: str) -> None:
    checked = check_new_password(
        password,
        min_length=ctx.settings.family_password_min,
        max_length=ctx.settings.password_max,
        context=(account.email.local_part, account.national_id.value),
    )
    uow.accounts.replace(account, account.password_set(ctx.hasher.hash(checked)))
    # A reset link mailed before the change must not reset the new password.
    uow.tokens.revoke_unused(account.id, TokenPurpose.RESET_PASSWORD, ctx.now())
    queue_mail(ctx, uow, MessageCause.PASSWORD_CHANGED, to=account.email.value, account=account)


def replaced(uow: UnitOfWork, old: FamilyMember, new: FamilyMember) -> FamilyMember:
    uow.accounts.replace(old, new)
    return new


def profile_view(account: FamilyMember) -> ProfileView:
    return ProfileView(
        account_id=account.id,
        name=account.name,
        birth_date=account.birth_date,
        national_id=account.national_id.value,
        email=account.email.value,
        mobile=account.mobile.value if account.mobile else "",
        phone=account.phone.value if account.phone else "",
        status=account.status,
        notify_delivery=account.notify_delivery,
        notify_notices=account.notify_notices,
        posting_suspended_until=account.posting_suspended_until,
    )
