"""個資權利 (PDPA Art. 3, 11, 13) and the audit of what personal data goes through.

Export of one's own data (a zip: ``data.json`` and the files), correction, deletion
and stop-processing requests with their 30-day deadline, their completion by
Agency administrators, the retention job, and the audit events that accompany
them (origin, refusals, rejected uploads). On the memory and SQLite wirings.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date, timedelta
from typing import Any

import attrs
import pytest

import contactbook
from contactbook.domain.account import AccountStatus
from contactbook.domain.post import PostStatus
from contactbook.errors import AuthenticationFailed, Conflict, NotFound, PermissionDenied
from contactbook.testing import sample_pdf, sample_png
from contactbook.usecases.personal_data import ERASED_BIRTH_DATE, RequestKind, read_export
from contactbook.usecases.settings import Settings
from tests.security.conftest import (
    EMAIL,
    NATIONAL_ID,
    OTHER_EMAIL,
    OTHER_NATIONAL_ID,
    PASSWORD,
    STAFF_PASSWORD,
    BookFactory,
    audit_events,
    clock,
    register,
)

PHOTO = sample_png()


@attrs.define
class Scene:
    """Two families granted the contact book for inmates of KLP; the owner posted."""

    book: contactbook.ContactBook
    admin: contactbook.StaffPrincipal
    reviewer: contactbook.StaffPrincipal
    owner: contactbook.FamilyPrincipal
    other: contactbook.FamilyPrincipal
    post_id: str = ""
    inmates: dict[str, str] = attrs.Factory(dict)


def _grant(book: contactbook.ContactBook, admin: Any, family: Any, call_number: str) -> None:
    view = book.applications.apply(
        family,
        contactbook.ApplicationForm(
            facility_code="KLP",
            call_number=call_number,
            relationship=contactbook.Relationship.CHILD,
            services=frozenset({contactbook.Service.CONTACT_BOOK}),
            id_document=contactbook.Upload.from_bytes("身分證.pdf", sample_pdf()),
            relationship_proof=contactbook.Upload.from_bytes("戶口名簿.png", PHOTO),
            frontal_photo=contactbook.Upload.from_bytes("照片.png", PHOTO),
        ),
    )
    book.applications.approve(admin, view.id, None, view.version)


def make_scene(book: contactbook.ContactBook) -> Scene:
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", STAFF_PASSWORD)
    admin = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    book.facilities.add(admin, "KLP", "基隆監獄")
    book.inmates.import_roster(
        admin,
        [
            {"call_number": "0609", "name": "李大華", "has_minor_children": True},
            {"call_number": "0610", "name": "陳小明", "has_minor_children": True},
        ],
        facility_code="KLP",
    )
    book.staff.create(
        admin, "klp.reviewer", "林審核", STAFF_PASSWORD, "KLP", [contactbook.Role.REVIEWER]
    )
    reviewer = book.staff.authenticate("klp.reviewer", STAFF_PASSWORD)
    register(book)
    register(book, OTHER_EMAIL, OTHER_NATIONAL_ID, name="李阿姨")
    owner = book.accounts.authenticate(EMAIL, PASSWORD)
    other = book.accounts.authenticate(OTHER_EMAIL, PASSWORD)
    scene = Scene(book, admin, reviewer, owner, other)
    _grant(book, admin, owner, "0609")
    _grant(book, admin, other, "0610")
    target = book.posts.targets(owner)[0]
    scene.inmates["0609"] = target.inmate_id
    post = book.posts.publish(
        owner,
        contactbook.PostDraft(
            inmate_id=target.inmate_id,
            title="爸爸好",
            body="弟弟考了一百分。",
            attachments=[contactbook.Upload.from_bytes("全家福.png", PHOTO)],
        ),
    )
    scene.post_id = post.id
    book.messages.dispatch()
    return scene


@pytest.fixture
def scene(book: contactbook.ContactBook) -> Scene:
    return make_scene(book)


def _zip(download: contactbook.Download) -> tuple[zipfile.ZipFile, bytes]:
    data = download.stream.read()
    assert len(data) == download.size
    return zipfile.ZipFile(io.BytesIO(data)), data


def _stored(book: contactbook.ContactBook, account_id: str) -> Any:
    with book.storage.unit_of_work() as uow:
        return uow.accounts.get(account_id)


# --- Export (查詢 / 複製本) ----------------------------------------------------------------


def test_the_export_is_a_zip_of_everything_held_about_the_caller(scene: Scene) -> None:
    download = scene.book.accounts.export_my_data(scene.owner)
    assert download.content_type == "application/zip"
    assert download.filename.endswith(".zip")
    _, data = _zip(download)
    document = read_export(data)
    assert document["format"] == "contactbook.personal-data/1"
    profile = document["profile"]
    assert profile["national_id"] == NATIONAL_ID
    assert profile["email"] == EMAIL
    assert profile["birth_date"] == "1985-03-14"
    assert profile["consent"]["notice_version"] == Settings().consent_notice_version
    [application] = document["applications"]
    assert application["status"] == "approved"
    assert application["inmate"] == "0609 李○○"
    assert {e["kind"] for e in application["evidence"]} == {
        "id_document",
        "relationship_proof",
        "frontal_photo",
    }
    [post] = document["posts"]
    assert post["title"] == "爸爸好" and post["status"] == "pending"
    assert [a["filename"] for a in post["attachments"]] == ["全家福.png"]
    assert document["messages"] and all(m["destination"] == EMAIL for m in document["messages"])
    assert document["grants"][0]["inmate"] == "0609 李○○"
    assert {"account.register", "account.login", "post.publish", "application.approve"} <= {
        e["action"] for e in document["audit_events"]
    }
    assert document["missing_files"] == []


def test_the_files_in_the_export_are_the_stored_ones(scene: Scene) -> None:
    archive, data = _zip(scene.book.accounts.export_my_data(scene.owner))
    document = read_export(data)
    entries = [
        *(e for a in document["applications"] for e in a["evidence"]),
        *(e for p in document["posts"] for e in p["attachments"]),
    ]
    assert len(entries) == 4
    names = set(archive.namelist())
    assert {"README.txt", "data.json"} <= names
    for entry in entries:
        content = archive.read(entry["path"])
        assert hashlib.sha256(content).hexdigest() == entry["sha256"]
        assert len(content) == entry["size"]


def test_the_export_holds_nothing_of_anyone_else_and_no_secret(scene: Scene) -> None:
    _, data = _zip(scene.book.accounts.export_my_data(scene.owner))
    archive = zipfile.ZipFile(io.BytesIO(data))
    text = archive.read("data.json").decode("utf-8")
    for foreign in (OTHER_EMAIL, OTHER_NATIONAL_ID, "李阿姨", scene.other.account_id):
        assert foreign not in text
    for secret in ("password_hash", "fake$", "storage_key", "thumbnail_key", PASSWORD):
        assert secret not in text
    assert "flagged_keywords" not in text  # the facility's watch list is not the person's
    staff_events = [e for e in read_export(data)["audit_events"] if e["actor"] == "staff"]
    assert staff_events and all(e["origin"] == "" for e in staff_events)


def test_the_export_is_audited_and_only_for_the_caller(scene: Scene) -> None:
    scene.book.accounts.export_my_data(scene.owner)
    exports = audit_events(scene.book, "personal_data.export")
    assert [e.target_id for e in exports] == [scene.owner.account_id]
    with pytest.raises(NotFound):
        scene.book.accounts.export_my_data(scene.reviewer)  # type: ignore[arg-type]


# --- Correction ------------------------------------------------------------------------------


def test_profile_correction_is_kept_and_audited(scene: Scene) -> None:
    view = scene.book.accounts.update_profile(
        scene.owner, contactbook.ProfileChanges(name="王曉明", mobile="0933111222")
    )
    assert (view.name, view.mobile) == ("王曉明", "0933111222")
    [event] = audit_events(scene.book, "account.update_profile")
    assert dict(event.details)["fields"] == "mobile,name"
    assert "王曉明" not in repr(event)  # the audit says what changed, not to what


# --- Deletion and stop-processing requests ------------------------------------------------------


def test_a_deletion_request_records_its_date_and_the_30_day_deadline(scene: Scene) -> None:
    due = scene.book.accounts.request_deletion(scene.owner)
    assert due == date(2020, 11, 6)  # requested 2020/10/07 (Taiwan), answered within 30 days
    clock(scene.book).advance(days=3)
    assert scene.book.accounts.request_deletion(scene.owner) == due  # the first request stands
    [request] = scene.book.personal_data.deletion_requests(scene.admin)
    assert request.kind is RequestKind.DELETION
    assert (request.requested_on, request.due_on) == ("2020/10/07", due)
    assert (request.name, request.email) == ("王○○", "ty*****")
    assert request.is_open
    [event] = audit_events(scene.book, "personal_data.request")
    assert dict(event.details) == {"kind": "deletion", "due_on": "2020-11-06"}
    assert _stored(scene.book, scene.owner.account_id).deletion_requested_at is not None


def test_only_agency_administrators_handle_requests(scene: Scene) -> None:
    scene.book.accounts.request_deletion(scene.owner)
    scene.book.staff.create(
        scene.admin, "klp.admin", "林管理", STAFF_PASSWORD, "KLP", [contactbook.Role.ADMIN]
    )
    local_admin = scene.book.staff.authenticate("klp.admin", STAFF_PASSWORD)
    for caller, error in (
        (local_admin, PermissionDenied),
        (scene.reviewer, PermissionDenied),
        (scene.owner, NotFound),
    ):
        with pytest.raises(error):
            scene.book.personal_data.complete_deletion(caller, scene.owner.account_id)  # type: ignore[arg-type]
    assert _stored(scene.book, scene.owner.account_id).status is AccountStatus.ACTIVE


def test_completing_a_deletion_closes_the_account_and_erases_the_data(scene: Scene) -> None:
    book = scene.book
    evidence_keys = _file_keys(book, scene.owner.account_id)
    assert evidence_keys and all(book.files.exists(key) for key in evidence_keys)
    book.accounts.request_deletion(scene.owner)
    clock(book).advance(days=10)
    done = book.personal_data.complete_deletion(scene.admin, scene.owner.account_id)
    assert done.completed_at is not None and not done.is_open
    account = _stored(book, scene.owner.account_id)
    assert account.status is AccountStatus.CLOSED
    assert account.name == "王○○"
    assert account.national_id.is_erased and NATIONAL_ID not in repr(account)
    assert EMAIL not in repr(account) and account.email.value.endswith("@erased.example")
    assert account.birth_date == ERASED_BIRTH_DATE
    assert account.mobile is None and account.phone is None
    assert not any(book.files.exists(key) for key in evidence_keys)
    with book.storage.unit_of_work() as uow:
        post = uow.posts.get(scene.post_id)
        messages = uow.messages.list_by_account(scene.owner.account_id, after=None, limit=50)
        assert not uow.grants.active_for_account(scene.owner.account_id)
    assert post is not None and post.status is PostStatus.WITHDRAWN
    assert (post.title, post.body, post.attachments) == ("", "", ())
    assert messages and all(m.body == "" and EMAIL not in m.destination for m in messages)
    assert not book.moderation.queue(scene.admin).items  # nothing left to review
    # The person can no longer sign in or act; every way in answers as for no account.
    with pytest.raises(AuthenticationFailed):
        book.accounts.authenticate(EMAIL, PASSWORD)
    with pytest.raises(NotFound):
        book.accounts.principal(scene.owner.account_id)
    with pytest.raises(NotFound):
        book.accounts.profile(scene.owner)
    assert not book.accounts.session_valid(scene.owner)
    # The request is answered, and the other family is untouched.
    assert book.personal_data.deletion_requests(scene.admin) == []
    [answered] = book.personal_data.deletion_requests(scene.admin, include_completed=True)
    assert answered.completed_at == done.completed_at
    assert book.accounts.profile(scene.other).national_id == OTHER_NATIONAL_ID
    assert book.audit.verify().ok


def test_erased_identifiers_are_free_for_a_new_registration(scene: Scene) -> None:
    book = scene.book
    book.accounts.request_deletion(scene.owner)
    book.personal_data.complete_deletion(scene.admin, scene.owner.account_id)
    register(book)  # same e-mail, same national ID: a new account, no clash
    again = book.accounts.authenticate(EMAIL, PASSWORD)
    assert again.account_id != scene.owner.account_id
    assert book.accounts.profile(again).national_id == NATIONAL_ID


def test_completion_needs_an_open_request(scene: Scene) -> None:
    with pytest.raises(Conflict) as caught:
        scene.book.personal_data.complete_deletion(scene.admin, scene.owner.account_id)
    assert caught.value.code == "no_open_request"
    scene.book.accounts.request_deletion(scene.owner)
    scene.book.personal_data.complete_deletion(scene.admin, scene.owner.account_id)
    with pytest.raises(Conflict):
        scene.book.personal_data.complete_deletion(scene.admin, scene.owner.account_id)
    with pytest.raises(NotFound):
        scene.book.personal_data.complete_deletion(scene.admin, "no-such-account")


def test_stop_processing_closes_the_account_and_retention_erases_it_later(
    make_book: BookFactory,
) -> None:
    book = make_book(settings=Settings(retain_closed_accounts=timedelta(days=90)))
    scene = make_scene(book)
    request = book.personal_data.request_stop_processing(scene.owner)
    assert request.kind is RequestKind.STOP_PROCESSING and request.due_on == date(2020, 11, 6)
    keys = _file_keys(book, scene.owner.account_id)
    book.personal_data.complete_stop_processing(scene.admin, scene.owner.account_id)
    account = _stored(book, scene.owner.account_id)
    assert account.status is AccountStatus.CLOSED
    assert account.national_id.value == NATIONAL_ID  # kept, no longer used
    with pytest.raises(AuthenticationFailed):
        book.accounts.authenticate(EMAIL, PASSWORD)
    clock(book).advance(days=89)
    assert book.maintenance.apply_retention().closed_accounts == 0
    clock(book).advance(days=2)
    report = book.maintenance.apply_retention()
    assert report.closed_accounts == 1 and report.files == len(keys)
    assert _stored(book, scene.owner.account_id) is None
    assert not any(book.files.exists(key) for key in keys)
    with book.storage.unit_of_work() as uow:
        assert uow.posts.get(scene.post_id) is None
    removed = audit_events(book, "retention.account_removed")
    assert [e.target_id for e in removed] == [scene.owner.account_id]
    assert _stored(book, scene.other.account_id) is not None
    assert book.audit.verify().ok


def _file_keys(book: contactbook.ContactBook, account_id: str) -> list[str]:
    with book.storage.unit_of_work() as uow:
        applications = uow.applications.list_by_applicant(account_id, after=None, limit=50)
        posts = uow.posts.list_by_author(account_id, status=None, after=None, limit=50)
        files = [f for a in applications for f in a.evidence]
        files += [f for p in posts for f in p.attachments]
    return [key for f in files for key in (f.storage_key, f.thumbnail_key) if key]


# --- Retention ---------------------------------------------------------------------------------


def test_retention_removes_posts_files_and_messages_after_their_periods(
    make_book: BookFactory,
) -> None:
    settings = Settings(
        retain_delivered_posts=timedelta(days=30),
        retain_rejected_posts=timedelta(days=20),
        retain_messages=timedelta(days=60),
        retain_expired_posts=None,
    )
    book = make_book(settings=settings)
    scene = make_scene(book)
    keys = _file_keys(book, scene.owner.account_id)
    post_keys = [k for k in keys if k.startswith("posts/")]
    assert post_keys
    view = book.posts.get(scene.owner, scene.post_id)
    book.moderation.approve(scene.reviewer, scene.post_id, view.version)
    book.delivery.mark_delivered(scene.reviewer, scene.post_id)
    clock(book).advance(days=29)
    assert book.maintenance.apply_retention().delivered_posts == 0
    assert book.posts.get(scene.owner, scene.post_id).delivered_on == "2020/10/07"
    clock(book).advance(days=2)
    report = book.maintenance.apply_retention()
    assert report.delivered_posts == 1 and report.files == len(post_keys)
    with pytest.raises(NotFound):
        book.posts.get(scene.owner, scene.post_id)
    assert not any(book.files.exists(key) for key in post_keys)
    assert all(book.files.exists(key) for key in keys if key not in post_keys)  # evidence stays
    assert report.messages == 0  # the oldest mail is 31 days old
    clock(book).advance(days=30)
    assert book.maintenance.apply_retention().messages > 0
    assert book.messages.log_for(scene.owner).items == []
    [run, *_] = reversed(audit_events(book, "retention.apply"))
    assert dict(run.details)["messages"] != "0"
    assert book.audit.verify().ok


def test_retention_of_rejected_posts_keeps_their_revisions(make_book: BookFactory) -> None:
    book = make_book(settings=Settings(retain_rejected_posts=timedelta(days=20)))
    scene = make_scene(book)
    view = book.posts.get(scene.owner, scene.post_id)
    book.moderation.reject(
        scene.reviewer, scene.post_id, contactbook.PostRejectionReason.OTHER, "請改寫", view.version
    )
    revision = book.posts.revise(
        scene.owner,
        scene.post_id,
        contactbook.PostDraft(inmate_id=scene.inmates["0609"], title="再寫一次", body="都很好"),
    )
    assert revision.revision_of == scene.post_id
    clock(book).advance(days=21)
    assert book.maintenance.apply_retention().rejected_posts == 1
    kept = book.posts.get(scene.owner, revision.id)
    assert kept.revision_of is None and kept.title == "再寫一次"


def test_retention_with_every_period_off_keeps_everything(make_book: BookFactory) -> None:
    off = dict.fromkeys(
        (
            "retain_delivered_posts",
            "retain_rejected_posts",
            "retain_expired_posts",
            "retain_withdrawn_posts",
            "retain_messages",
            "retain_closed_accounts",
        )
    )
    book = make_book(settings=Settings(**off))  # type: ignore[arg-type]
    scene = make_scene(book)
    book.posts.withdraw(scene.owner, scene.post_id)
    clock(book).advance(days=3650)
    report = book.maintenance.apply_retention()
    assert report.removed == 0
    assert book.posts.get(scene.owner, scene.post_id).status is PostStatus.WITHDRAWN
    assert audit_events(book, "retention.apply") == []


# --- Audit of origins, refusals and rejected uploads -----------------------------------------


def test_events_carry_the_origin_the_front_end_gave(scene: Scene) -> None:
    book = scene.book
    with book.acting_from("203.0.113.9 portal"):
        principal = book.accounts.authenticate(EMAIL, PASSWORD)
    assert principal.origin == "203.0.113.9 portal"
    book.accounts.profile(principal)
    book.accounts.update_profile(principal, contactbook.ProfileChanges(phone=""))
    staff = attrs.evolve(scene.reviewer, origin="10.1.2.3\n back office")
    book.moderation.open(staff, scene.post_id)
    login = audit_events(book, "account.login")[-1]
    update = audit_events(book, "account.update_profile")[-1]
    opened = audit_events(book, "post.open")[-1]
    assert login.origin == update.origin == "203.0.113.9 portal"
    assert opened.origin == "10.1.2.3 back office"  # control characters removed
    assert audit_events(book, "account.register")[0].origin == ""  # none was given


def test_a_refused_call_leaves_one_denied_event_without_secrets(scene: Scene) -> None:
    book = scene.book
    with pytest.raises(NotFound):
        book.posts.get(scene.other, scene.post_id)  # another family's post
    with pytest.raises(NotFound):
        book.inmates.find(scene.reviewer, "KLP", "0609")  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        book.notices.list_admin(scene.reviewer)  # no PUBLISHER role
    first, second, third = audit_events(book, "authorization.denied")
    assert (first.actor_id, first.target_kind, first.target_id) == (
        scene.other.account_id,
        "post",
        scene.post_id,
    )
    assert dict(first.details) == {"use_case": "posts.get", "code": "not_found"}
    assert (second.actor_kind, dict(second.details)["use_case"]) == ("staff", "inmates.find")
    assert dict(third.details) == {"use_case": "notices.list_admin", "code": "role_required"}
    assert {e.outcome for e in (first, second, third)} == {"failure"}
    denied = book.audit.events(scene.admin, action="authorization.denied").items
    assert [e.seq for e in denied] == [third.seq, second.seq, first.seq]


def test_look_up_misses_are_not_refusals(scene: Scene) -> None:
    with pytest.raises(NotFound) as caught:
        scene.book.inmates.find(scene.owner, "KLP", "9999")
    assert caught.value.code == "inmate_not_found"
    assert audit_events(scene.book, "authorization.denied") == []


def test_a_rejected_upload_is_audited_with_its_reason_and_name(scene: Scene) -> None:
    with pytest.raises(contactbook.errors.UploadRejected):
        scene.book.applications.apply(
            scene.owner,
            contactbook.ApplicationForm(
                facility_code="KLP",
                call_number="0610",
                relationship=contactbook.Relationship.CHILD,
                services=frozenset({contactbook.Service.CONTACT_BOOK}),
                id_document=contactbook.Upload.from_bytes("身分證.pdf", sample_pdf()),
                relationship_proof=contactbook.Upload.from_bytes("戶口名簿.png", PHOTO),
                frontal_photo=contactbook.Upload.from_bytes("C:\\photos\\我.pdf", sample_pdf()),
            ),
        )
    [event] = audit_events(scene.book, "upload.rejected")
    assert event.actor_id == scene.owner.account_id and event.outcome == "failure"
    assert dict(event.details) == {
        "use_case": "applications.apply",
        "reason": "type_not_allowed",
        "filename": "我.pdf",
    }
    assert audit_events(scene.book, "authorization.denied") == []
