"""帳號: registration, verification, login, passwords, profile and personal-data rights.

No call here reveals whether an account exists (DOMAIN.md §5): registration with
an address or ID in use, resending verification and forgotten passwords answer
exactly as for a new one, and the existing owner is told by mail instead.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

import attrs

from contactbook.domain.account import (
    AccountStatus,
    Consent,
    FamilyMember,
    OneTimeToken,
    TokenPurpose,
)
from contactbook.domain.identifiers import EmailAddress, MobileNumber, NationalId, PhoneNumber
from contactbook.domain.masking import mask_email
from contactbook.domain.message import MessageCause
from contactbook.domain.text import clean_line
from contactbook.domain.time import format_datetime
from contactbook.errors import (
    AuthenticationFailed,
    InvalidToken,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from contactbook.i18n import translate
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context, new_id
from contactbook.usecases._support.notifications import queue_mail
from contactbook.usecases._support.passwords import check_new_password
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.sign_in import (
    count_failed_login,
    refuse_while_locked,
    verify_nothing,
)
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases.forms import ProfileChanges, RegistrationForm
from contactbook.usecases.personal_data import RequestKind, export_archive, file_request
from contactbook.usecases.principals import FamilyPrincipal
from contactbook.usecases.uploads import Download

__all__ = ["Accounts", "ConsentNotice", "ProfileView", "RegistrationReceipt"]


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


def _parse_registration(form: RegistrationForm) -> dict[str, Any]:
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


class Accounts:
    group: ClassVar[str] = "accounts"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    # -- registration ---------------------------------------------------------

    @use_case()
    def consent_notice(self) -> ConsentNotice:
        return ConsentNotice(
            version=self._ctx.settings.consent_notice_version,
            title=translate("consent.title", "zh_TW"),
            text=translate("consent.text", "zh_TW"),
            title_en=translate("consent.title", "en"),
            text_en=translate("consent.text", "en"),
        )

    @use_case()
    def register(self, form: RegistrationForm) -> RegistrationReceipt:
        """Create an unverified account and mail the verification link."""
        ctx = self._ctx
        values = _parse_registration(form)
        email: EmailAddress = values["email"]
        national_id: NationalId = values["national_id"]
        password = check_new_password(
            form.password,
            min_length=ctx.settings.family_password_min,
            max_length=ctx.settings.password_max,
            context=(email.local_part, national_id.value),
        )
        password_hash = ctx.hasher.hash(password)  # also for existing accounts: same timing
        now = ctx.now()
        with ctx.uow() as uow:
            owners = {
                owner.id: owner
                for owner in (
                    uow.accounts.by_email(email.canonical),
                    uow.accounts.by_national_id(national_id.value),
                )
                if owner is not None
            }
            if owners:
                for owner in owners.values():
                    queue_mail(
                        ctx,
                        uow,
                        MessageCause.REGISTRATION_ATTEMPT,
                        to=owner.email.value,
                        account=owner,
                    )
                record(ctx, uow, None, "account.register", "account", None, outcome="duplicate")
            else:
                account = FamilyMember(
                    id=new_id(),
                    name=values["name"],
                    birth_date=form.birth_date,
                    national_id=national_id,
                    email=email,
                    password_hash=password_hash,
                    consent=Consent(ctx.settings.consent_notice_version, now),
                    created_at=now,
                    mobile=values.get("mobile"),
                    phone=values.get("phone"),
                    notify_delivery=form.notify_delivery,
                    notify_notices=form.notify_notices,
                )
                uow.accounts.add(account)
                self._send_verification(uow, account)
                record(ctx, uow, account, "account.register", "account", account.id)
            uow.commit()
        return RegistrationReceipt(mask_email(email.value))

    def _issue_token(self, uow: UnitOfWork, account: FamilyMember, purpose: TokenPurpose) -> str:
        ctx = self._ctx
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

    def _send_verification(self, uow: UnitOfWork, account: FamilyMember) -> None:
        token = self._issue_token(uow, account, TokenPurpose.VERIFY_EMAIL)
        link = f"{self._ctx.settings.base_url.rstrip('/')}/verify?token={token}"
        queue_mail(
            self._ctx,
            uow,
            MessageCause.REGISTRATION_VERIFICATION,
            to=account.email.value,
            account=account,
            secrets={"link": link},
        )

    def _use_token(self, uow: UnitOfWork, raw: str, purpose: TokenPurpose) -> FamilyMember:
        """Consume a token; unknown, used, expired or other-purpose all look the same."""
        ctx = self._ctx
        token = uow.tokens.by_hash(ctx.tokens.digest(raw.strip())) if raw.strip() else None
        now = ctx.now()
        if token is None or token.purpose is not purpose or not token.usable(now):
            raise InvalidToken()
        account = uow.accounts.get(token.account_id)
        if account is None or account.status is AccountStatus.CLOSED:
            raise InvalidToken()
        uow.tokens.replace(token, attrs.evolve(token, used_at=now))
        return account

    @use_case()
    def verify_email(self, token: str) -> None:
        """帳號驗證: the link in the registration mail."""
        ctx = self._ctx
        try:
            with ctx.uow() as uow:
                account = self._use_token(uow, token, TokenPurpose.VERIFY_EMAIL)
                if account.status is AccountStatus.UNVERIFIED:
                    uow.accounts.replace(account, account.verified(ctx.now()))
                record(ctx, uow, account, "account.verify_email", "account", account.id)
                uow.commit()
        except InvalidToken:
            self._record_failure("account.verify_email")
            raise

    def _record_failure(self, action: str, actor: FamilyMember | None = None) -> None:
        with self._ctx.uow() as uow:
            target = actor.id if actor else None
            record(self._ctx, uow, actor, action, "account", target, outcome="failure")
            uow.commit()

    @use_case()
    def resend_verification(self, email: str) -> None:
        """Mail a new link if an unverified account has this address; answer the same anyway.

        The owner of an account already verified is told so by mail instead; an
        unknown address gets nothing. The caller sees no difference (DOMAIN.md §5)."""
        ctx = self._ctx
        address = EmailAddress.parse(email)
        with ctx.uow() as uow:
            account = uow.accounts.by_email(address.canonical)
            outcome = "unknown_address"
            if account is not None and account.status is AccountStatus.UNVERIFIED:
                self._send_verification(uow, account)
                outcome = "success"
            elif account is not None and account.status is AccountStatus.ACTIVE:
                queue_mail(
                    ctx,
                    uow,
                    MessageCause.ACCOUNT_ALREADY_VERIFIED,
                    to=account.email.value,
                    account=account,
                )
                outcome = "already_verified"
            elif account is not None:
                outcome = "inactive"
            record(
                ctx,
                uow,
                account,
                "account.resend_verification",
                "account",
                account.id if account else None,
                outcome=outcome,
            )
            uow.commit()

    # -- login and passwords --------------------------------------------------

    @use_case()
    def authenticate(self, email: str, password: str) -> FamilyPrincipal:
        ctx = self._ctx
        try:
            address = EmailAddress.parse(email)
        except ValidationError:
            verify_nothing(ctx.hasher, password)
            self._record_failure("account.login")
            raise AuthenticationFailed() from None
        with ctx.uow() as uow:
            account = uow.accounts.by_email(address.canonical)
            if account is None or account.status is AccountStatus.CLOSED:
                verify_nothing(ctx.hasher, password)
                record(ctx, uow, None, "account.login", "account", None, outcome="failure")
                uow.commit()
                raise AuthenticationFailed()
            refuse_while_locked(ctx, uow, account, password, action="account.login", kind="account")
            if not ctx.hasher.verify(account.password_hash, password):
                lock_end = count_failed_login(
                    ctx, uow, uow.accounts.replace, account, action="account.login", kind="account"
                )
                if lock_end is not None:
                    queue_mail(
                        ctx,
                        uow,
                        MessageCause.ACCOUNT_LOCKED,
                        to=account.email.value,
                        account=account,
                        failures=ctx.settings.failures_before_lock,
                        until=format_datetime(lock_end),
                    )
                uow.commit()
                raise AuthenticationFailed()
            changes: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
            if ctx.hasher.needs_rehash(account.password_hash):
                changes["password_hash"] = ctx.hasher.hash(password)
            if account.failed_logins or account.locked_until or "password_hash" in changes:
                account = _replaced(uow, account, account.changed(**changes))
            if account.status is AccountStatus.UNVERIFIED:
                record(
                    ctx, uow, account, "account.login", "account", account.id, outcome="unverified"
                )
                uow.commit()
                raise PermissionDenied("account_not_verified")
            record(ctx, uow, account, "account.login", "account", account.id)
            uow.commit()
        return self._principal_of(account)

    def _principal_of(self, account: FamilyMember) -> FamilyPrincipal:
        return FamilyPrincipal(
            account.id,
            account.session_version,
            needs_consent=account.needs_consent(self._ctx.settings.consent_notice_version),
        )

    @use_case(target=("account", "account_id"))
    def principal(self, account_id: str) -> FamilyPrincipal:
        """For embedders with their own sign-on: act as ``account_id``."""
        with self._ctx.uow() as uow:
            account = uow.accounts.get(account_id)
        if account is None or account.status is AccountStatus.CLOSED:
            raise NotFound()
        return self._principal_of(account)

    @use_case(acts_for="principal")
    def session_valid(self, principal: FamilyPrincipal) -> bool:
        """Whether a front end's session for ``principal`` may go on: the account still
        exists, is not closed, and no password change or reset since moved its
        ``session_version`` on (which ends every other session)."""
        if not isinstance(principal, FamilyPrincipal):
            return False
        with self._ctx.uow() as uow:
            account = uow.accounts.get(principal.account_id)
        return (
            account is not None
            and account.status is not AccountStatus.CLOSED
            and account.session_version == principal.session_version
        )

    @use_case(acts_for="principal")
    def accept_consent(self, principal: FamilyPrincipal, version: str) -> FamilyPrincipal:
        """Accept the current collection notice again (after ``needs_consent``).

        ``version`` must be the one ``consent_notice()`` showed, else
        ``ValidationError("consent_version")``; returns a principal without
        ``needs_consent`` to use from now on. A principal of a session that a password
        change or reset ended is refused (``session_ended``): it must not come out
        of here as a principal of the current session."""
        ctx = self._ctx
        current = ctx.settings.consent_notice_version
        if version != current:
            raise ValidationError("consent_version", fields={"version": "consent_version"})
        with ctx.uow() as uow:
            account = access.family(uow, principal)
            if principal.session_version != account.session_version:
                raise PermissionDenied("session_ended")
            if account.needs_consent(current):
                account = _replaced(
                    uow, account, account.changed(consent=Consent(current, ctx.now()))
                )
            record(
                ctx,
                uow,
                account,
                "account.accept_consent",
                "account",
                account.id,
                details={"notice_version": current},
            )
            uow.commit()
        return self._principal_of(account)

    @use_case()
    def forgot_password(self, email: str) -> None:
        """Mail a reset link if such an active account exists; answer the same anyway.

        The owner of an account not verified yet gets a mail asking to verify first
        (with a new verification link); an unknown address gets nothing. The caller
        sees no difference (DOMAIN.md §5)."""
        ctx = self._ctx
        address = EmailAddress.parse(email)
        with ctx.uow() as uow:
            account = uow.accounts.by_email(address.canonical)
            if account is None or account.status not in (
                AccountStatus.ACTIVE,
                AccountStatus.UNVERIFIED,
            ):
                target = account.id if account else None
                outcome = "inactive" if account else "unknown_address"
                record(
                    ctx, uow, account, "account.forgot_password", "account", target, outcome=outcome
                )
            elif account.status is AccountStatus.UNVERIFIED:
                token = self._issue_token(uow, account, TokenPurpose.VERIFY_EMAIL)
                queue_mail(
                    ctx,
                    uow,
                    MessageCause.VERIFY_BEFORE_RESET,
                    to=account.email.value,
                    account=account,
                    secrets={"link": f"{ctx.settings.base_url.rstrip('/')}/verify?token={token}"},
                )
                record(
                    ctx,
                    uow,
                    account,
                    "account.forgot_password",
                    "account",
                    account.id,
                    outcome="unverified",
                )
            else:
                token = self._issue_token(uow, account, TokenPurpose.RESET_PASSWORD)
                link = f"{ctx.settings.base_url.rstrip('/')}/reset-password?token={token}"
                queue_mail(
                    ctx,
                    uow,
                    MessageCause.PASSWORD_RESET,
                    to=account.email.value,
                    account=account,
                    secrets={"link": link},
                )
                record(ctx, uow, account, "account.forgot_password", "account", account.id)
            uow.commit()

    def _set_password(self, uow: UnitOfWork, account: FamilyMember, password: str) -> None:
        ctx = self._ctx
        checked = check_new_password(
            password,
            min_length=ctx.settings.family_password_min,
            max_length=ctx.settings.password_max,
            context=(account.email.local_part, account.national_id.value),
        )
        uow.accounts.replace(
            account,
            account.changed(
                password_hash=ctx.hasher.hash(checked),
                session_version=account.session_version + 1,
                failed_logins=0,
                locked_until=None,
            ),
        )
        # A reset link mailed before the change must not reset the new password.
        uow.tokens.revoke_unused(account.id, TokenPurpose.RESET_PASSWORD, ctx.now())
        queue_mail(ctx, uow, MessageCause.PASSWORD_CHANGED, to=account.email.value, account=account)

    @use_case()
    def reset_password(self, token: str, new_password: str) -> None:
        ctx = self._ctx
        try:
            with ctx.uow() as uow:
                account = self._use_token(uow, token, TokenPurpose.RESET_PASSWORD)
                self._set_password(uow, account, new_password)
                record(ctx, uow, account, "account.reset_password", "account", account.id)
                uow.commit()
        except InvalidToken:
            self._record_failure("account.reset_password")
            raise

    @use_case(acts_for="principal")
    def change_password(self, principal: FamilyPrincipal, old: str, new: str) -> FamilyPrincipal:
        """Change the password; other sessions end (the session version moves on)."""
        ctx = self._ctx
        with ctx.uow() as uow:
            account = access.family(uow, principal)
            if not ctx.hasher.verify(account.password_hash, old):
                record(
                    ctx,
                    uow,
                    account,
                    "account.change_password",
                    "account",
                    account.id,
                    outcome="failure",
                )
                uow.commit()
                raise AuthenticationFailed()
            self._set_password(uow, account, new)
            record(ctx, uow, account, "account.change_password", "account", account.id)
            uow.commit()
            return attrs.evolve(
                self._principal_of(account), session_version=account.session_version + 1
            )

    # -- profile and personal data ---------------------------------------------

    @use_case(acts_for="principal")
    def profile(self, principal: FamilyPrincipal) -> ProfileView:
        with self._ctx.uow() as uow:
            account = access.family(uow, principal)
        return _profile_view(account)

    @use_case(acts_for="principal")
    def update_profile(self, principal: FamilyPrincipal, changes: ProfileChanges) -> ProfileView:
        ctx = self._ctx
        updates: dict[str, Any] = {}
        if changes.name is not None:
            updates["name"] = clean_line(changes.name, field="name", max_chars=50)
        if changes.mobile is not None:
            updates["mobile"] = (
                MobileNumber.parse(changes.mobile) if changes.mobile.strip() else None
            )
        if changes.phone is not None:
            updates["phone"] = PhoneNumber.parse(changes.phone) if changes.phone.strip() else None
        if changes.notify_delivery is not None:
            updates["notify_delivery"] = changes.notify_delivery
        if changes.notify_notices is not None:
            updates["notify_notices"] = changes.notify_notices
        with ctx.uow() as uow:
            account = access.family(uow, principal)
            after = _replaced(uow, account, account.changed(**updates)) if updates else account
            record(
                ctx,
                uow,
                account,
                "account.update_profile",
                "account",
                account.id,
                details={"fields": ",".join(sorted(updates))},
            )
            uow.commit()
        return _profile_view(after)

    @use_case(acts_for="principal")
    def export_my_data(self, principal: FamilyPrincipal) -> Download:
        """A copy of everything held about the caller (個資 查詢/複製本, PDPA Art. 3):
        a zip of ``data.json`` (account and consent, grants, applications with their
        evidence metadata, posts with their attachments, messages, and the audit events
        about the caller) and ``files/`` (the evidence and attachments). Read the
        document with ``contactbook.usecases.personal_data.read_export``."""
        return export_archive(self._ctx, principal)

    @use_case(acts_for="principal")
    def request_deletion(self, principal: FamilyPrincipal) -> date:
        """Ask for the account and its data to be deleted; recorded with its date and
        answered by an Agency administrator within 30 days (PDPA Art. 13,
        ``Settings.deletion_deadline_days``). Returns that deadline (a Taiwan date);
        asking again while the request is open returns the same date."""
        return file_request(self._ctx, principal, RequestKind.DELETION).due_on


def _replaced(uow: UnitOfWork, old: FamilyMember, new: FamilyMember) -> FamilyMember:
    uow.accounts.replace(old, new)
    return new


def _profile_view(account: FamilyMember) -> ProfileView:
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
