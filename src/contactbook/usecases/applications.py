"""服務項目申請 and its review (服務項目管理)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from contactbook.domain.application import (
    ApplicationRejectionReason,
    ApplicationStatus,
    Grant,
    ServiceApplication,
)
from contactbook.domain.facility import MB
from contactbook.domain.files import EvidenceKind, InspectionContext
from contactbook.domain.masking import mask_email, mask_mobile, mask_name, mask_national_id
from contactbook.domain.message import MessageCause
from contactbook.domain.pagination import Page
from contactbook.domain.relationship import Relationship, Service
from contactbook.domain.staff import Role, StaffMember
from contactbook.errors import Conflict, NotFound, ValidationError
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context, new_id
from contactbook.usecases._support.eligibility import require_eligible
from contactbook.usecases._support.lookups import Lookups
from contactbook.usecases._support.notifications import queue_mail
from contactbook.usecases._support.paging import after_cursor, check_limit, page_of
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases._support.views import ApplicationView, AttachmentView, application_view
from contactbook.usecases.forms import ApplicationForm
from contactbook.usecases.inmates import find_current
from contactbook.usecases.labels import label
from contactbook.usecases.principals import FamilyPrincipal, StaffPrincipal
from contactbook.usecases.uploads import Download, Upload, open_download, store_uploads

__all__ = ["EVIDENCE_MAX_TOTAL_BYTES", "ApplicationSheet", "Applications"]

EVIDENCE_MAX_TOTAL_BYTES = 20 * MB
"""檔案可上傳尺寸合計: the three evidence files together."""


@attrs.frozen
class ApplicationSheet:
    """What a reviewer sees: the application, masked applicant data and the evidence."""

    application: ApplicationView
    applicant_name: str
    applicant_birth_year: str
    applicant_national_id: str
    applicant_email: str
    applicant_mobile: str
    inmate_call_number: str
    inmate_name: str
    inmate_is_juvenile: bool
    inmate_has_minor_children: bool
    kinship_degree: int | None
    evidence: tuple[tuple[str, AttachmentView], ...]


class Applications:
    group: ClassVar[str] = "applications"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @use_case(acts_for="principal")
    def apply(self, principal: FamilyPrincipal, form: ApplicationForm) -> ApplicationView:
        """Submit an application; the result will be mailed (審核結果將寄至您信箱)."""
        ctx = self._ctx
        if not form.services:
            raise ValidationError("services_required", fields={"services": "services_required"})
        relationship = Relationship(form.relationship)
        if relationship is Relationship.RELATIVE and form.kinship_degree is None:
            raise ValidationError(
                "kinship_degree_required", fields={"kinship_degree": "kinship_degree_required"}
            )
        evidence: list[tuple[EvidenceKind, Upload]] = []
        missing: dict[str, str] = {}
        for kind, upload in (
            (EvidenceKind.ID_DOCUMENT, form.id_document),
            (EvidenceKind.RELATIONSHIP_PROOF, form.relationship_proof),
            (EvidenceKind.FRONTAL_PHOTO, form.frontal_photo),
        ):
            if upload is None:
                missing[kind.value] = "evidence_required"
            else:
                evidence.append((kind, upload))
        if missing:
            raise ValidationError("evidence_required", fields=missing)
        now = ctx.now()
        with ctx.uow() as uow:
            account = access.active_family(uow, principal)
            inmate = find_current(uow, form.facility_code, form.call_number)
            facility = uow.facilities.get(inmate.facility_code)
            assert facility is not None
            if Service.CONTACT_BOOK in form.services:
                require_eligible(facility.policy, inmate, relationship, form.kinship_degree)
            if uow.applications.pending_for(account.id, inmate.id) is not None:
                raise Conflict("application_pending")
            files = store_uploads(
                ctx,
                uow,
                [upload for _, upload in evidence],
                context=InspectionContext.DOCUMENT,
                max_files=3,
                max_total_bytes=EVIDENCE_MAX_TOTAL_BYTES,
                prefix="evidence",
                kinds=[kind for kind, _ in evidence],
            )
            application = ServiceApplication(
                id=new_id(),
                applicant_id=account.id,
                inmate_id=inmate.id,
                facility_code=inmate.facility_code,
                relationship=relationship,
                kinship_degree=form.kinship_degree,
                services=frozenset(form.services),
                evidence=files,
                submitted_at=now,
            )
            uow.applications.add(application)
            record(
                ctx,
                uow,
                account,
                "application.submit",
                "application",
                application.id,
                facility_code=application.facility_code,
            )
            uow.commit()
        return application_view(application, inmate, facility)

    @use_case(acts_for="principal")
    def list_mine(
        self, principal: FamilyPrincipal, cursor: str | None = None, limit: int = 20
    ) -> Page[ApplicationView]:
        """服務項目狀態查詢, newest first."""
        check_limit(limit)
        with self._ctx.uow() as uow:
            account = access.family(uow, principal)
            rows = uow.applications.list_by_applicant(
                account.id, after=after_cursor(cursor), limit=limit + 1
            )
            lookups = Lookups(uow, (a.inmate_id for a in rows[:limit]))
            return page_of(rows, limit, _key, lambda a: _view(lookups, a))

    @use_case(acts_for="staff")
    def queue(
        self,
        staff: StaffPrincipal,
        facility: str | None = None,
        status: ApplicationStatus | None = ApplicationStatus.PENDING,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[ApplicationView]:
        """服務項目管理: applications of the reviewer's scope, oldest first."""
        check_limit(limit)
        with self._ctx.uow() as uow:
            member = access.staff_with_role(uow, staff, Role.REVIEWER)
            codes = access.scope_codes(member, facility)
            rows = uow.applications.queue(
                facility_codes=codes, status=status, after=after_cursor(cursor), limit=limit + 1
            )
            lookups = Lookups(uow, (a.inmate_id for a in rows[:limit]))
            return page_of(rows, limit, _key, lambda a: _view(lookups, a))

    def _load(
        self, uow: UnitOfWork, staff: StaffPrincipal, application_id: str
    ) -> tuple[StaffMember, ServiceApplication]:
        member = access.staff_with_role(uow, staff, Role.REVIEWER)
        application = uow.applications.get(application_id)
        if application is None:
            raise NotFound()
        access.require_scope(member, application.facility_code)
        return member, application

    @use_case(acts_for="staff", target=("application", "application_id"))
    def open(self, staff: StaffPrincipal, application_id: str) -> ApplicationSheet:
        ctx = self._ctx
        with ctx.uow() as uow:
            member, application = self._load(uow, staff, application_id)
            applicant = uow.accounts.get(application.applicant_id)
            inmate = uow.inmates.get(application.inmate_id)
            if applicant is None or inmate is None:
                raise NotFound()
            record(
                ctx,
                uow,
                member,
                "application.open",
                "application",
                application.id,
                facility_code=application.facility_code,
            )
            uow.commit()
            view = _view(Lookups(uow), application)
        return ApplicationSheet(
            application=view,
            applicant_name=mask_name(applicant.name),
            applicant_birth_year=str(applicant.birth_date.year),
            applicant_national_id=mask_national_id(applicant.national_id.value),
            applicant_email=mask_email(applicant.email.value),
            applicant_mobile=mask_mobile(applicant.mobile.value) if applicant.mobile else "",
            inmate_call_number=inmate.call_number.value,
            inmate_name=mask_name(inmate.name),
            inmate_is_juvenile=inmate.is_juvenile,
            inmate_has_minor_children=inmate.has_minor_children,
            kinship_degree=application.kinship_degree,
            evidence=tuple(
                (
                    label(f.kind) if f.kind else "",
                    AttachmentView(
                        f.id, f.display_name, f.content_type, f.size, f.thumbnail_key is not None
                    ),
                )
                for f in application.evidence
            ),
        )

    @use_case(acts_for="staff", target=("application", "application_id"))
    def evidence(self, staff: StaffPrincipal, application_id: str, file_id: str) -> Download:
        """One evidence file, for the reviewer of the applicant's facility."""
        ctx = self._ctx
        with ctx.uow() as uow:
            member, application = self._load(uow, staff, application_id)
            download = open_download(ctx, application.evidence, file_id)
            record(
                ctx,
                uow,
                member,
                "application.evidence",
                "application",
                application.id,
                facility_code=application.facility_code,
                details={"file": file_id},
            )
            uow.commit()
        return download

    @use_case(acts_for="staff", target=("application", "application_id"))
    def approve(
        self,
        staff: StaffPrincipal,
        application_id: str,
        services: frozenset[Service] | None,
        version: int,
    ) -> ApplicationView:
        """Approve all (``services`` None) or some of the requested services."""
        ctx = self._ctx
        now = ctx.now()
        with ctx.uow() as uow:
            member, application = self._load(uow, staff, application_id)
            chosen = application.services if services is None else frozenset(services)
            inmate = uow.inmates.get(application.inmate_id)
            facility = uow.facilities.get(application.facility_code)
            assert facility is not None and inmate is not None
            if Service.CONTACT_BOOK in chosen:
                if not inmate.is_current:
                    raise Conflict("inmate_left")
                require_eligible(
                    facility.policy, inmate, application.relationship, application.kinship_degree
                )
            after = application.approve(chosen, by=member.id, at=now, version=version)
            uow.applications.replace(application, after)
            if (
                Service.CONTACT_BOOK in chosen
                and uow.grants.active_for(application.applicant_id, application.inmate_id) is None
            ):
                uow.grants.add(
                    Grant(
                        id=new_id(),
                        account_id=application.applicant_id,
                        inmate_id=application.inmate_id,
                        facility_code=application.facility_code,
                        application_id=application.id,
                        relationship=application.relationship,
                        granted_at=now,
                    )
                )
            applicant = uow.accounts.get(application.applicant_id)
            view = _view(Lookups(uow), after)
            if applicant is not None:
                cause = (
                    MessageCause.APPLICATION_PARTLY_APPROVED
                    if after.is_partial
                    else MessageCause.APPLICATION_APPROVED
                )
                queue_mail(
                    ctx,
                    uow,
                    cause,
                    to=applicant.email.value,
                    account=applicant,
                    facility_code=application.facility_code,
                    facility=view.facility_name,
                    inmate=view.inmate,
                    services=view.services_label,
                    approved="、".join(label(s) for s in Service if s in chosen),
                )
            record(
                ctx,
                uow,
                member,
                "application.approve",
                "application",
                application.id,
                facility_code=application.facility_code,
                details={"services": ",".join(sorted(s.value for s in chosen))},
            )
            uow.commit()
        return view

    @use_case(acts_for="staff", target=("application", "application_id"))
    def reject(
        self,
        staff: StaffPrincipal,
        application_id: str,
        reason: ApplicationRejectionReason | None,
        note: str,
        version: int,
    ) -> ApplicationView:
        ctx = self._ctx
        chosen = _rejection_reason(reason)
        now = ctx.now()
        with ctx.uow() as uow:
            member, application = self._load(uow, staff, application_id)
            after = application.reject(chosen, note, by=member.id, at=now, version=version)
            uow.applications.replace(application, after)
            applicant = uow.accounts.get(application.applicant_id)
            view = _view(Lookups(uow), after)
            if applicant is not None:
                queue_mail(
                    ctx,
                    uow,
                    MessageCause.APPLICATION_REJECTED,
                    to=applicant.email.value,
                    account=applicant,
                    facility_code=application.facility_code,
                    facility=view.facility_name,
                    inmate=view.inmate,
                    services=view.services_label,
                    reason=view.rejection_reason_label,
                    note=after.rejection_note or "-",
                )
            record(
                ctx,
                uow,
                member,
                "application.reject",
                "application",
                application.id,
                facility_code=application.facility_code,
                details={"reason": after.rejection_reason.value if after.rejection_reason else ""},
            )
            uow.commit()
        return view


def _rejection_reason(reason: object) -> ApplicationRejectionReason:
    """The chosen 不通過原因; none chosen (請選擇) or an unknown one is a field error."""
    if reason is None or not str(reason).strip():
        raise ValidationError(
            "rejection_reason_required", fields={"reason": "rejection_reason_required"}
        )
    try:
        return ApplicationRejectionReason(str(reason).strip())
    except ValueError:
        raise ValidationError("invalid_value", fields={"reason": "invalid_value"}) from None


def _view(lookups: Lookups, application: ServiceApplication) -> ApplicationView:
    return application_view(
        application,
        lookups.inmate(application.inmate_id),
        lookups.facility(application.facility_code),
    )


def _key(application: ServiceApplication) -> tuple[datetime, str]:
    return application.submitted_at, application.id
