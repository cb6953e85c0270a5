"""The authorization matrix: every public use case × every kind of caller.

Columns (who calls):

* ``OWNER`` — the caller entitled to the object: the family member who owns it,
  the staff member of the object's facility holding the role the use case needs,
  or the Agency administrator for Agency-only use cases;
* ``OTHER_FAMILY`` — another verified family member (with a grant of their own
  elsewhere);
* ``STAFF_WITHOUT_ROLE`` — staff of the same facility holding every role but the
  one needed (for family use cases: any staff of that facility);
* ``STAFF_OTHER_FACILITY`` — staff of another facility holding every role;
* ``AGENCY_STAFF`` — Agency staff holding every role;
* ``NO_PRINCIPAL`` — ``None`` where the principal goes.

Every row is run on a fresh world; the refused callers go first (a refusal must
change nothing), the owner last. Another tenant's object answers ``NotFound``,
never ``PermissionDenied`` (no probing), and every refusal leaves exactly one
``authorization.denied`` audit event naming the use case.

``test_every_use_case_has_a_row`` lists the public methods of every group of
``ContactBook`` by introspection: a use case added without a row here fails it.
Use cases that take no principal (registration, login, workers) are rows too,
declared ``PUBLIC``, and must indeed take no principal.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import attrs
import pyotp
import pytest

import contactbook
from contactbook import errors
from contactbook.domain.facility import FacilityPolicy
from contactbook.domain.message import MessageStatus
from contactbook.testing import FastPasswordHasher, MovableClock, sample_pdf, sample_png
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.use_case import declaration_of, use_case

START = datetime(2020, 10, 7, 3, 0, tzinfo=UTC)
PASSWORD = "family-passphrase-2020"
STAFF_PASSWORD = "staff-passphrase-2020!"
R = contactbook.Role

OWNER = "owner"
OTHER_FAMILY = "other_family"
STAFF_WITHOUT_ROLE = "staff_without_role"
STAFF_OTHER_FACILITY = "staff_other_facility"
AGENCY_STAFF = "agency_staff"
NO_PRINCIPAL = "no_principal"
COLUMNS = (
    OTHER_FAMILY,
    STAFF_WITHOUT_ROLE,
    STAFF_OTHER_FACILITY,
    AGENCY_STAFF,
    NO_PRINCIPAL,
    OWNER,
)
"""In the order they are tried: refusals first, the entitled caller last."""

OK = "ok"
NOT_FOUND = "NotFound"
DENIED = "PermissionDenied"
FALSE = "returns False"
PUBLIC = "public"

Principal = contactbook.FamilyPrincipal | contactbook.StaffPrincipal | None


# --- The world ---------------------------------------------------------------------------


def _upload(name: str) -> contactbook.Upload:
    data = sample_pdf() if name.endswith(".pdf") else sample_png()
    return contactbook.Upload.from_bytes(name, data)


@attrs.define
class World:
    """One book with two facilities (KLP ours, TPD theirs), their staff, two families."""

    book: contactbook.ContactBook
    clock: MovableClock
    principals: dict[str, Principal] = attrs.Factory(dict)
    inmates: dict[str, str] = attrs.Factory(dict)  # call number -> inmate id
    ids: dict[str, str] = attrs.Factory(dict)
    versions: dict[str, int] = attrs.Factory(dict)

    def staff(self, username: str, facility: str | None, roles: list[R]) -> None:
        self.book.staff.create(
            self.principals["agency"], username, username, STAFF_PASSWORD, facility, roles
        )
        self.principals[username] = self.book.staff.authenticate(username, STAFF_PASSWORD)

    def family(self, key: str, name: str, email: str, national_id: str) -> None:
        book = self.book
        book.accounts.register(
            contactbook.RegistrationForm(
                consent=True,
                name=name,
                birth_date=date(1985, 3, 14),
                national_id=national_id,
                email=email,
                password=PASSWORD,
                mobile="0912345678",
            )
        )
        with book.storage.unit_of_work() as uow:
            account = uow.accounts.by_email(email)
            assert account is not None
        book.accounts.verify_email(_newest_token(book, email))
        self.principals[key] = book.accounts.authenticate(email, PASSWORD)
        self.ids[f"{key}.account"] = account.id

    def grant(self, key: str, facility: str, call_number: str) -> str:
        """An approved contact-book application of ``key`` for the inmate; its id."""
        book = self.book
        view = book.applications.apply(
            self.principals[key],
            contactbook.ApplicationForm(
                facility_code=facility,
                call_number=call_number,
                relationship=contactbook.Relationship.CHILD,
                services=frozenset({contactbook.Service.CONTACT_BOOK}),
                id_document=_upload("id.pdf"),
                relationship_proof=_upload("proof.png"),
                frontal_photo=_upload("photo.png"),
            ),
        )
        book.applications.approve(self.principals["agency"], view.id, None, view.version)
        return view.id

    def publish(self, call_number: str, title: str, attach: bool = False) -> contactbook.Page[Any]:
        return self.book.posts.publish(
            self.principals["owner.family"],
            contactbook.PostDraft(
                inmate_id=self.inmates[call_number],
                title=title,
                body=f"{title}，大家都好。",
                attachments=[_upload("family.png")] if attach else [],
            ),
        )


def _newest_token(book: contactbook.ContactBook, email: str) -> str:
    import re

    book.messages.dispatch()
    for mail in reversed(book.mailer.outbox):  # type: ignore[attr-defined]
        found = re.search(r"token=([A-Za-z0-9_\-]+)", mail.body)
        if mail.to == email and found:
            return found.group(1)
    raise AssertionError(f"no link mailed to {email}")


def build_world(database: str = "memory://", files: str = "memory://") -> World:
    """The matrix's world on ``database`` (memory unless given; SQL is migrated)."""
    clock = MovableClock(START)
    book = contactbook.open(
        database=database,
        files=files,
        mail="memory://",
        sms="memory://",
        clock=clock,
        hasher=FastPasswordHasher(),
        migrate=database != "memory://",
    )
    world = World(book, clock)
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", STAFF_PASSWORD)
    agency = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    world.principals["agency"] = agency
    book.facilities.add(agency, "KLP", "基隆監獄")
    book.facilities.add(agency, "TPD", "臺北看守所")
    roster = [
        {"call_number": n, "name": f"收容人{n}", "has_minor_children": True}
        for n in ("0609", "0610", "0611", "0612")
    ]
    book.inmates.import_roster(agency, roster, facility_code="KLP")
    book.inmates.import_roster(
        agency,
        [{"call_number": "0101", "name": "李小龍", "has_minor_children": True}],
        facility_code="TPD",
    )
    with book.storage.unit_of_work() as uow:
        for code, number in (("KLP", n["call_number"]) for n in roster):
            inmate = uow.inmates.current_by_call_number(code, number)
            assert inmate is not None
            world.inmates[number] = inmate.id
    every = [R.REVIEWER, R.PUBLISHER, R.ADMIN]
    world.staff("klp.full", "KLP", every)
    world.staff("klp.no-reviewer", "KLP", [R.PUBLISHER, R.ADMIN])
    world.staff("klp.no-publisher", "KLP", [R.REVIEWER, R.ADMIN])
    world.staff("klp.no-admin", "KLP", [R.REVIEWER, R.PUBLISHER])
    world.staff("tpd.full", "TPD", every)
    world.family("owner.family", "王小明", "ty.wang@example.com", "A123456789")
    world.family("other.family", "李大華", "da.li@example.com", "A800000014")
    world.grant("other.family", "TPD", "0101")
    # Owner: 0609 has a pending post with a photo, 0610 a rejected one, 0611 an
    # approved one waiting for delivery, 0612 nothing yet (to publish to).
    world.ids["application"] = world.grant("owner.family", "KLP", "0609")
    for number in ("0610", "0611", "0612"):
        world.grant("owner.family", "KLP", number)
    staff = world.principals["klp.full"]
    rejected = world.publish("0610", "第一次")
    book.moderation.reject(staff, rejected.id, contactbook.PostRejectionReason.OTHER, "請重寫", 1)
    world.ids["rejected_post"] = rejected.id
    approved = world.publish("0611", "要送達的")
    book.moderation.approve(staff, approved.id, approved.version)
    world.ids["approved_post"] = approved.id
    pending = world.publish("0609", "家裡都好", attach=True)
    world.ids["post"] = pending.id
    world.ids["post_attachment"] = pending.attachments[0].id
    world.versions["post"] = pending.version
    # A pending application of the owner (another service for 0609).
    second = book.applications.apply(
        world.principals["owner.family"],
        contactbook.ApplicationForm(
            facility_code="KLP",
            call_number="0609",
            relationship=contactbook.Relationship.CHILD,
            services=frozenset({contactbook.Service.REMOTE_VISIT}),
            id_document=_upload("id.pdf"),
            relationship_proof=_upload("proof.png"),
            frontal_photo=_upload("photo.png"),
        ),
    )
    world.ids["pending_application"] = second.id
    world.versions["pending_application"] = second.version
    sheet = book.applications.open(staff, world.ids["application"])
    world.ids["evidence"] = sheet.evidence[0][1].id
    # A notice to KLP's families, with an attachment.
    notice = book.notices.publish(
        staff,
        contactbook.NoticeDraft(
            title="懇親活動",
            body="本監將舉辦懇親活動。",
            audience=contactbook.Audience.facility("KLP"),
            attachments=[_upload("form.pdf"), _upload("photo.png")],
        ),
    )
    world.ids["notice"] = notice.id
    world.ids["notice_attachment"] = notice.attachments[0].id
    world.ids["notice_photo"] = notice.attachments[1].id
    world.versions["notice"] = notice.version
    # A failed message about KLP's business, and the owner's open requests.
    book.messages.dispatch()
    with book.storage.unit_of_work() as uow:
        sent = uow.messages.log_for(world.ids["owner.family.account"], after=None, limit=50)
        message = next(m for m in sent if m.facility_code == "KLP")
        uow.messages.replace(
            message, attrs.evolve(message, status=MessageStatus.FAILED, version=message.version + 1)
        )
        uow.commit()
    world.ids["failed_message"] = message.id
    book.accounts.request_deletion(world.principals["owner.family"])
    book.personal_data.request_stop_processing(world.principals["owner.family"])
    with book.storage.unit_of_work() as uow:
        target = uow.staff.by_username("klp.no-admin")
        assert target is not None
    world.ids["klp_staff"] = target.id
    return world


# --- The rows ------------------------------------------------------------------------------

Call = Callable[[World, Any], Any]


@attrs.frozen
class Row:
    """How a use case is called and what each column gets."""

    kind: str  # family_object | family_self | staff_object | staff_scope | agency | any_staff
    call: Call | None = None
    role: R | None = None
    overrides: dict[str, str] = attrs.Factory(dict)

    def expected(self) -> dict[str, str]:
        base = {
            "family_object": {OWNER: OK},
            "family_self": {OWNER: OK, OTHER_FAMILY: OK},
            "staff_object": {OWNER: OK, STAFF_WITHOUT_ROLE: DENIED, AGENCY_STAFF: OK},
            "staff_scope": {
                OWNER: OK,
                STAFF_WITHOUT_ROLE: DENIED,
                STAFF_OTHER_FACILITY: OK,
                AGENCY_STAFF: OK,
            },
            "agency": {
                OWNER: OK,
                STAFF_WITHOUT_ROLE: DENIED,
                STAFF_OTHER_FACILITY: DENIED,
                AGENCY_STAFF: OK,
            },
            "any_staff": {
                OWNER: OK,
                STAFF_WITHOUT_ROLE: OK,
                STAFF_OTHER_FACILITY: OK,
                AGENCY_STAFF: OK,
            },
        }[self.kind]
        outcome = {column: base.get(column, NOT_FOUND) for column in COLUMNS}
        outcome.update(self.overrides)
        return outcome

    def principal(self, world: World, column: str) -> Principal:
        p = world.principals
        family = self.kind.startswith("family")
        without = {R.REVIEWER: "klp.no-reviewer", R.PUBLISHER: "klp.no-publisher"}.get(
            self.role or R.ADMIN, "klp.no-admin"
        )
        return {
            OWNER: p["owner.family"]
            if family
            else p["agency" if self.kind == "agency" else "klp.full"],
            OTHER_FAMILY: p["other.family"],
            STAFF_WITHOUT_ROLE: p["klp.no-admin" if family else without],
            STAFF_OTHER_FACILITY: p["tpd.full"],
            AGENCY_STAFF: p["agency"],
            NO_PRINCIPAL: None,
        }[column]


def public() -> Row:
    return Row("public")


def _draft(world: World, call_number: str) -> contactbook.PostDraft:
    return contactbook.PostDraft(
        inmate_id=world.inmates[call_number], title="新的一篇", body="弟弟考了一百分。"
    )


def _confirm_totp(world: World, p: Any) -> Any:
    code = "000000"
    if isinstance(p, contactbook.StaffPrincipal):
        enrollment = world.book.staff.enroll_totp(p)
        code = pyotp.TOTP(enrollment.secret).at(world.clock.now())
    return world.book.staff.confirm_totp(p, code)


def _clear_totp(world: World, p: Any) -> Any:
    """klp.no-admin starts an enrollment (enough to clear), then ``p`` clears it."""
    world.book.staff.enroll_totp(world.principals["klp.no-admin"])
    return world.book.staff.clear_totp(p, world.ids["klp_staff"])


def _reactivate(world: World, p: Any) -> Any:
    """klp.no-publisher is deactivated by the Agency admin (if not yet), then ``p``
    reactivates it."""
    agency = world.principals["agency"]
    target = world.principals["klp.no-publisher"]
    assert isinstance(target, contactbook.StaffPrincipal)
    if any(m.id == target.staff_id and m.active for m in world.book.staff.members(agency)):
        world.book.staff.deactivate(agency, target.staff_id)
    return world.book.staff.reactivate(p, target.staff_id)


def _apply(world: World, p: Any) -> Any:
    return world.book.applications.apply(
        p,
        contactbook.ApplicationForm(
            facility_code="KLP",
            call_number="0612",
            relationship=contactbook.Relationship.CHILD,
            services=frozenset({contactbook.Service.ONSITE_VISIT}),
            id_document=_upload("id.pdf"),
            relationship_proof=_upload("proof.png"),
            frontal_photo=_upload("photo.png"),
        ),
    )


ROWS: dict[str, Row] = {
    # -- accounts ---------------------------------------------------------------------------
    "accounts.accept_consent": Row(
        "family_self",
        lambda w, p: w.book.accounts.accept_consent(p, w.book.accounts.consent_notice().version),
    ),
    "accounts.authenticate": public(),
    "accounts.change_password": Row(
        "family_self",
        lambda w, p: w.book.accounts.change_password(p, PASSWORD, "another-long-passphrase"),
    ),
    "accounts.consent_notice": public(),
    "accounts.export_my_data": Row("family_self", lambda w, p: w.book.accounts.export_my_data(p)),
    "accounts.forgot_password": public(),
    "accounts.principal": public(),
    "accounts.profile": Row("family_self", lambda w, p: w.book.accounts.profile(p)),
    "accounts.register": public(),
    "accounts.request_deletion": Row(
        "family_self", lambda w, p: w.book.accounts.request_deletion(p)
    ),
    "accounts.resend_verification": public(),
    "accounts.reset_password": public(),
    "accounts.session_valid": Row(
        "family_self",
        lambda w, p: w.book.accounts.session_valid(p) or False,
        overrides={
            STAFF_WITHOUT_ROLE: FALSE,
            STAFF_OTHER_FACILITY: FALSE,
            AGENCY_STAFF: FALSE,
            NO_PRINCIPAL: FALSE,
        },
    ),
    "accounts.update_profile": Row(
        "family_self",
        lambda w, p: w.book.accounts.update_profile(p, contactbook.ProfileChanges(phone="")),
    ),
    "accounts.verify_email": public(),
    # -- inmates ----------------------------------------------------------------------------
    "inmates.find": Row("family_self", lambda w, p: w.book.inmates.find(p, "KLP", "0609")),
    "inmates.find_for_staff": Row(
        "staff_object",
        lambda w, p: w.book.inmates.find_for_staff(p, "KLP", "0609"),
        overrides={STAFF_WITHOUT_ROLE: OK},  # any role of the facility will do
    ),
    "inmates.import_roster": Row(
        "staff_object",
        lambda w, p: w.book.inmates.import_roster(
            p,
            [{"call_number": n, "name": f"收容人{n}"} for n in ("0609", "0610", "0611", "0612")],
            facility_code="KLP",
        ),
        role=R.ADMIN,
    ),
    # -- applications -------------------------------------------------------------------------
    "applications.apply": Row("family_self", _apply),
    "applications.approve": Row(
        "staff_object",
        lambda w, p: w.book.applications.approve(
            p, w.ids["pending_application"], None, w.versions["pending_application"]
        ),
        role=R.REVIEWER,
    ),
    "applications.evidence": Row(
        "staff_object",
        lambda w, p: w.book.applications.evidence(p, w.ids["application"], w.ids["evidence"]),
        role=R.REVIEWER,
    ),
    "applications.list_mine": Row("family_self", lambda w, p: w.book.applications.list_mine(p)),
    "applications.open": Row(
        "staff_object",
        lambda w, p: w.book.applications.open(p, w.ids["application"]),
        role=R.REVIEWER,
    ),
    "applications.queue": Row(
        "staff_scope", lambda w, p: w.book.applications.queue(p), role=R.REVIEWER
    ),
    "applications.reject": Row(
        "staff_object",
        lambda w, p: w.book.applications.reject(
            p,
            w.ids["pending_application"],
            contactbook.ApplicationRejectionReason.EVIDENCE_UNCLEAR,
            "",
            w.versions["pending_application"],
        ),
        role=R.REVIEWER,
    ),
    # -- posts ----------------------------------------------------------------------------------
    "posts.attachment": Row(
        "family_object",
        lambda w, p: w.book.posts.attachment(p, w.ids["post"], w.ids["post_attachment"]),
    ),
    "posts.get": Row("family_object", lambda w, p: w.book.posts.get(p, w.ids["post"])),
    "posts.list_mine": Row("family_self", lambda w, p: w.book.posts.list_mine(p)),
    "posts.publish": Row("family_object", lambda w, p: w.book.posts.publish(p, _draft(w, "0612"))),
    "posts.revise": Row(
        "family_object",
        lambda w, p: w.book.posts.revise(p, w.ids["rejected_post"], _draft(w, "0610")),
    ),
    "posts.targets": Row("family_self", lambda w, p: w.book.posts.targets(p)),
    "posts.thumbnail": Row(
        "family_object",
        lambda w, p: w.book.posts.thumbnail(p, w.ids["post"], w.ids["post_attachment"]),
    ),
    "posts.withdraw": Row("family_object", lambda w, p: w.book.posts.withdraw(p, w.ids["post"])),
    # -- moderation and delivery -------------------------------------------------------------------
    "moderation.approve": Row(
        "staff_object",
        lambda w, p: w.book.moderation.approve(p, w.ids["post"], w.versions["post"]),
        role=R.REVIEWER,
    ),
    "moderation.attachment": Row(
        "staff_object",
        lambda w, p: w.book.moderation.attachment(p, w.ids["post"], w.ids["post_attachment"]),
        role=R.REVIEWER,
    ),
    "moderation.open": Row(
        "staff_object", lambda w, p: w.book.moderation.open(p, w.ids["post"]), role=R.REVIEWER
    ),
    "moderation.queue": Row(
        "staff_scope", lambda w, p: w.book.moderation.queue(p), role=R.REVIEWER
    ),
    "moderation.reject": Row(
        "staff_object",
        lambda w, p: w.book.moderation.reject(
            p,
            w.ids["post"],
            contactbook.PostRejectionReason.UNRELATED_CONTENT,
            "",
            w.versions["post"],
        ),
        role=R.REVIEWER,
    ),
    "moderation.thumbnail": Row(
        "staff_object",
        lambda w, p: w.book.moderation.thumbnail(p, w.ids["post"], w.ids["post_attachment"]),
        role=R.REVIEWER,
    ),
    "moderation.reveal": Row(
        "staff_object",
        lambda w, p: w.book.moderation.reveal(p, w.ids["post"], "applicant_name"),
        role=R.REVIEWER,
    ),
    "delivery.mark_delivered": Row(
        "staff_object",
        lambda w, p: w.book.delivery.mark_delivered(p, w.ids["approved_post"]),
        role=R.REVIEWER,
    ),
    "delivery.pending": Row(
        "staff_scope", lambda w, p: w.book.delivery.pending(p), role=R.REVIEWER
    ),
    # -- notices ----------------------------------------------------------------------------------
    "notices.attachment": Row(
        "family_object",
        lambda w, p: w.book.notices.attachment(p, w.ids["notice"], w.ids["notice_attachment"]),
    ),
    "notices.attachment_admin": Row(
        "staff_object",
        lambda w, p: w.book.notices.attachment_admin(
            p, w.ids["notice"], w.ids["notice_attachment"]
        ),
        role=R.PUBLISHER,
    ),
    "notices.delete": Row(
        "staff_object", lambda w, p: w.book.notices.delete(p, w.ids["notice"]), role=R.PUBLISHER
    ),
    "notices.edit": Row(
        "staff_object",
        lambda w, p: w.book.notices.edit(
            p, w.ids["notice"], contactbook.NoticeChanges(title="改期"), w.versions["notice"]
        ),
        role=R.PUBLISHER,
    ),
    "notices.get_admin": Row(
        "staff_object",
        lambda w, p: w.book.notices.get_admin(p, w.ids["notice"]),
        role=R.PUBLISHER,
    ),
    "notices.get_for_family": Row(
        "family_object", lambda w, p: w.book.notices.get_for_family(p, w.ids["notice"])
    ),
    "notices.list_admin": Row(
        "staff_scope", lambda w, p: w.book.notices.list_admin(p), role=R.PUBLISHER
    ),
    "notices.list_public": public(),
    "notices.list_for_family": Row("family_self", lambda w, p: w.book.notices.list_for_family(p)),
    "notices.months_for_family": Row(
        "family_self", lambda w, p: w.book.notices.months_for_family(p)
    ),
    "notices.thumbnail": Row(
        "family_object",
        lambda w, p: w.book.notices.thumbnail(p, w.ids["notice"], w.ids["notice_photo"]),
    ),
    "notices.publish": Row(
        "staff_object",
        lambda w, p: w.book.notices.publish(
            p,
            contactbook.NoticeDraft(
                title="停止接見",
                body="颱風停止接見一日。",
                audience=contactbook.Audience.facility("KLP"),
            ),
        ),
        role=R.PUBLISHER,
    ),
    # -- messages ---------------------------------------------------------------------------------
    "messages.dispatch": public(),
    "messages.for_staff": Row(
        "staff_scope", lambda w, p: w.book.messages.for_staff(p), role=R.REVIEWER
    ),
    "messages.log_for": Row("family_self", lambda w, p: w.book.messages.log_for(p)),
    "messages.retry": Row(
        "staff_object",
        lambda w, p: w.book.messages.retry(p, w.ids["failed_message"]),
        role=R.ADMIN,
    ),
    # -- staff ------------------------------------------------------------------------------------
    "staff.authenticate": public(),
    "staff.bootstrap_admin": public(),
    "staff.clear_totp": Row("staff_object", _clear_totp, role=R.ADMIN),
    "staff.complete_reset": public(),
    "staff.confirm_totp": Row("any_staff", _confirm_totp),
    "staff.deactivate": Row(
        "staff_object",
        lambda w, p: w.book.staff.deactivate(p, w.ids["klp_staff"]),
        role=R.ADMIN,
    ),
    "staff.reactivate": Row("staff_object", _reactivate, role=R.ADMIN),
    "staff.recover_agency_admin": public(),
    "staff.set_roles": Row(
        "staff_object",
        lambda w, p: w.book.staff.set_roles(p, w.ids["klp_staff"], [R.REVIEWER]),
        role=R.ADMIN,
    ),
    "staff.create": Row(
        "staff_object",
        lambda w, p: w.book.staff.create(
            p, "klp.new", "新同仁", "a-new-staff-passphrase", "KLP", [R.REVIEWER]
        ),
        role=R.ADMIN,
    ),
    "staff.enroll_totp": Row("any_staff", lambda w, p: w.book.staff.enroll_totp(p)),
    "staff.get": Row("any_staff", lambda w, p: w.book.staff.get(p)),
    "staff.members": Row("staff_scope", lambda w, p: w.book.staff.members(p), role=R.ADMIN),
    "staff.session_valid": Row(
        "any_staff",
        lambda w, p: w.book.staff.session_valid(p) or False,
        overrides={OTHER_FAMILY: FALSE, NO_PRINCIPAL: FALSE},
    ),
    "staff.start_reset": Row(
        "staff_object",
        lambda w, p: w.book.staff.start_reset(p, w.ids["klp_staff"]),
        role=R.ADMIN,
    ),
    # -- facilities -------------------------------------------------------------------------------
    "facilities.add": Row(
        "agency", lambda w, p: w.book.facilities.add(p, "TCD", "臺中看守所"), role=R.ADMIN
    ),
    "facilities.list": public(),
    "facilities.policy": public(),
    "facilities.set_policy": Row(
        "staff_object",
        lambda w, p: w.book.facilities.set_policy(p, "KLP", FacilityPolicy()),
        role=R.ADMIN,
    ),
    "facilities.set_watch_keywords": Row(
        "staff_object",
        lambda w, p: w.book.facilities.set_watch_keywords(p, "KLP", ["接見"]),
        role=R.ADMIN,
    ),
    # -- audit, maintenance, personal data ---------------------------------------------------
    "audit.events": Row("agency", lambda w, p: w.book.audit.events(p), role=R.ADMIN),
    "audit.verify": public(),
    "maintenance.apply_retention": public(),
    "maintenance.expire_overdue": public(),
    "maintenance.sweep_orphan_files": public(),
    "personal_data.complete_deletion": Row(
        "agency",
        lambda w, p: w.book.personal_data.complete_deletion(p, w.ids["owner.family.account"]),
        role=R.ADMIN,
    ),
    "personal_data.complete_stop_processing": Row(
        "agency",
        lambda w, p: w.book.personal_data.complete_stop_processing(
            p, w.ids["owner.family.account"]
        ),
        role=R.ADMIN,
    ),
    "personal_data.deletion_requests": Row(
        "agency", lambda w, p: w.book.personal_data.deletion_requests(p), role=R.ADMIN
    ),
    "personal_data.request_stop_processing": Row(
        "family_self", lambda w, p: w.book.personal_data.request_stop_processing(p)
    ),
}


# --- Introspection ---------------------------------------------------------------------------


def use_case_groups(book: contactbook.ContactBook) -> Iterator[tuple[str, object]]:
    """The use-case groups of a book: its attributes built from a use-case module."""
    for name, value in vars(book).items():
        module = type(value).__module__
        if module.startswith("contactbook.usecases.") and not isinstance(value, Context):
            yield name, value


def public_use_cases(book: contactbook.ContactBook) -> dict[str, Callable[..., Any]]:
    return {
        f"{group_name}.{name}": function
        for group_name, group in use_case_groups(book)
        for name, function in inspect.getmembers(type(group), inspect.isfunction)
        if not name.startswith("_")
    }


def _takes_a_principal(function: Callable[..., Any]) -> bool:
    parameters = list(inspect.signature(function).parameters.values())[1:]
    return any("Principal" in str(p.annotation) for p in parameters)


@pytest.fixture(scope="module")
def book() -> Iterator[contactbook.ContactBook]:
    from contactbook.testing import memory_book

    book = memory_book()
    yield book
    book.close()


def test_every_use_case_has_a_row(book: contactbook.ContactBook) -> None:
    found = public_use_cases(book)
    missing = sorted(set(found) - set(ROWS))
    stale = sorted(set(ROWS) - set(found))
    assert not missing, f"use cases without a row in the authorization matrix: {missing}"
    assert not stale, f"rows for use cases that no longer exist: {stale}"


def test_the_groups_are_the_documented_ones(book: contactbook.ContactBook) -> None:
    assert {name for name, _ in use_case_groups(book)} >= {
        "accounts",
        "inmates",
        "applications",
        "posts",
        "moderation",
        "delivery",
        "notices",
        "messages",
        "staff",
        "facilities",
        "audit",
        "maintenance",
        "personal_data",
    }


@pytest.mark.parametrize("use_case", sorted(ROWS))
def test_principals_are_declared_where_the_audit_finds_them(
    book: contactbook.ContactBook, use_case: str
) -> None:
    """Every use case declares whom it acts for: public rows for nobody, the others
    for the principal they take first. The declaration, not a parameter's name, is
    what the refusal audit reads."""
    function = public_use_cases(book).get(use_case)
    if function is None:
        pytest.skip("no such use case (see test_every_use_case_has_a_row)")
    declaration = declaration_of(function)
    assert declaration is not None, f"{use_case} declares nothing: add @use_case(...)"
    row = ROWS[use_case]
    if row.kind == "public":
        assert not _takes_a_principal(function), f"{use_case} takes a principal: give it a row"
        assert declaration.acts_for is None, use_case
        return
    first = list(inspect.signature(function).parameters)[1]
    assert declaration.acts_for == first, f"{use_case} acts for {declaration.acts_for}"


def test_every_public_method_of_every_group_is_a_declared_use_case(
    book: contactbook.ContactBook,
) -> None:
    undeclared = [name for name, f in public_use_cases(book).items() if not declaration_of(f)]
    assert undeclared == []


def test_a_declaration_naming_a_missing_parameter_fails_at_once() -> None:
    with pytest.raises(TypeError, match="no parameter 'post_id'"):

        @use_case(acts_for="staff", target=("post", "post_id"))
        def approve(self: Any, staff: Any, id: str) -> None: ...

    with pytest.raises(TypeError, match="the principal 'staff' comes first"):

        @use_case(acts_for="staff")
        def renamed(self: Any, reviewer: Any) -> None: ...


def _outcome(world: World, row: Row, principal: Principal) -> str:
    assert row.call is not None
    try:
        result = row.call(world, principal)
    except errors.NotFound:
        return NOT_FOUND
    except errors.PermissionDenied:
        return DENIED
    return FALSE if result is False else OK


def _denials(world: World) -> list[Any]:
    with world.book.storage.unit_of_work() as uow:
        return [e for e in uow.audit.in_order() if e.action == "authorization.denied"]


@pytest.mark.parametrize(
    "use_case", sorted(name for name, row in ROWS.items() if row.kind != "public")
)
def test_authorization_matrix(use_case: str) -> None:
    row = ROWS[use_case]
    worlds = [build_world()]
    try:
        got: dict[str, str] = {}
        for column in COLUMNS:
            world = worlds[-1]
            before = len(_denials(world))
            got[column] = _outcome(world, row, row.principal(world, column))
            denials = _denials(world)
            if got[column] in (NOT_FOUND, DENIED):
                assert len(denials) == before + 1, f"{use_case} × {column}: refusal not audited"
                assert dict(denials[-1].details)["use_case"] == use_case
                assert denials[-1].outcome == "failure"
            else:
                assert len(denials) == before, f"{use_case} × {column}: audited as a refusal"
                worlds.append(build_world())  # it may have changed the world: start afresh
        assert got == row.expected()
        assert all(world.book.audit.verify().ok for world in worlds)
    finally:
        for world in worlds:
            world.book.close()


_ENROLLMENT_STEPS = {"staff.get", "staff.enroll_totp", "staff.confirm_totp", "staff.session_valid"}
"""What a principal that has only given its password may do while TOTP is required."""


def _staff_use_cases(*, besides: set[str]) -> list[str]:
    kinds = {"staff_object", "staff_scope", "agency", "any_staff"}
    return sorted(name for name, row in ROWS.items() if row.kind in kinds and name not in besides)


@contextlib.contextmanager
def _entitled_staff(use_case: str) -> Iterator[tuple[World, Row, contactbook.StaffPrincipal]]:
    """A fresh world, the row, and the staff member entitled to call the use case."""
    row = ROWS[use_case]
    assert row.call is not None
    world = build_world()
    try:
        owner = row.principal(world, OWNER)
        assert isinstance(owner, contactbook.StaffPrincipal)
        yield world, row, owner
    finally:
        world.book.close()


@pytest.mark.parametrize("use_case", _staff_use_cases(besides=_ENROLLMENT_STEPS))
def test_an_enrollment_only_principal_may_do_nothing_else(use_case: str) -> None:
    """The entitled staff member, before enrolling its second factor, is refused."""
    with _entitled_staff(use_case) as (world, row, owner):
        assert row.call is not None
        with pytest.raises(errors.PermissionDenied) as refused:
            row.call(world, attrs.evolve(owner, totp_enrollment_required=True))
        assert refused.value.code == "totp_enrollment_required"


@pytest.mark.parametrize("use_case", _staff_use_cases(besides={"staff.session_valid"}))
def test_a_deactivated_member_may_do_nothing(use_case: str) -> None:
    """The entitled staff member's own principal, once its account is closed, finds
    nothing (as if it had never existed), whatever the use case."""
    with _entitled_staff(use_case) as (world, row, owner):
        assert row.call is not None
        with world.book.storage.unit_of_work() as uow:
            member = uow.staff.get(owner.staff_id)
            assert member is not None
            # closed in storage: for the Agency admin the use cases keep the last one open
            uow.staff.replace(member, member.deactivated())
            uow.commit()
        with pytest.raises(errors.NotFound):
            row.call(world, owner)
