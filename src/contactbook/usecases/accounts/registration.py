"""Registration: the consent notice, new accounts and e-mail verification"""

from __future__ import annotations

from contactbook.domain.account import (
    AccountStatus,
    Consent,
    FamilyMember,
    TokenPurpose,
)
from contactbook.domain.identifiers import EmailAddress, NationalId
from contactbook.domain.masking import mask_email
from contactbook.domain.message import MessageCause
from contactbook.errors import (
    InvalidToken,
)
from contactbook.i18n import translate
from contactbook.usecases._support.context import Context, new_id
from contactbook.usecases._support.notifications import queue_mail
from contactbook.usecases._support.passwords import check_new_password
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases.accounts.common import (
    ConsentNotice,
    RegistrationReceipt,
    parse_registration,
    record_failure,
    send_verification,
    use_token,
)
from contactbook.usecases.forms import RegistrationForm

__all__ = ["AccountRegistration"]


class AccountRegistration:
    """``book.accounts``: registration."""

    _ctx: Context

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
        values = parse_registration(form)
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
                send_verification(ctx, uow, account)
                record(ctx, uow, account, "account.register", "account", account.id)
            uow.commit()
        return RegistrationReceipt(mask_email(email.value))

    @use_case()
    def verify_email(self, token: str) -> None:
        """帳號驗證: the link in the registration mail."""
        ctx = self._ctx
        try:
            with ctx.uow() as uow:
                account = use_token(ctx, uow, token, TokenPurpose.VERIFY_EMAIL)
                if account.status is AccountStatus.UNVERIFIED:
                    uow.accounts.replace(account, account.verified(ctx.now()))
                record(ctx, uow, account, "account.verify_email", "account", account.id)
                uow.commit()
        except InvalidToken:
            record_failure(ctx, "account.verify_email")
            raise

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
                send_verification(ctx, uow, account)
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
