"""Steps of the seed-screen features: one feature per section of the operations manual.

基本資料建檔, 服務項目申請, 服務項目狀態查詢, 發佈家庭聯絡簿, 查看機關聯絡簿,
查詢簡訊電子郵件紀錄, 家庭聯絡簿審查, 發佈機關聯絡簿. The shared world, the wiring
and the common steps live in ``world.py``; everything here goes through the public
API and asserts what a person sees (labels, masked values, page texts, mails).

Quoted values are matched with ``[^"]*`` (regular expressions, not ``parse``), so a
step can never swallow the quotes of a longer sibling step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

import attrs
import pytest
from pytest_bdd import given, parsers, then, when

import contactbook
from contactbook import errors
from contactbook.domain.identifiers import EmailAddress, NationalId
from contactbook.domain.time import format_datetime
from contactbook.i18n import translate
from contactbook.testing import sample_jpeg, sample_pdf, sample_png
from contactbook.usecases.labels import label
from contactbook.usecases.personal_data import read_export
from tests.bdd.world import FAMILY_PASSWORD, World, import_roster

BIRTH_DATE = date(1985, 3, 14)
MOBILE = "0912345678"
SEP = "、"
AGENCY_ADMIN = "矯正署管理者"
NO_FILES = "無"
ALL = "全部"
NO_AUDIENCE = "--請選擇--"
NO_REASON = "請選擇"
VERIFY_LINK = re.compile(r"https?://\S+token=\S+")


def q(name: str) -> str:
    """A quoted value in a step: anything but a quote, possibly empty."""
    return f'"(?P<{name}>[^"]*)"'


def step_re(text: str) -> Any:
    """``text`` with ``{name}`` for quoted values, as an anchored regular expression."""
    parts = re.split(r"\{(\w+)\}", text)
    pattern = "".join(q(part) if i % 2 else re.escape(part) for i, part in enumerate(parts))
    return parsers.re(pattern)


class SeedScreens:
    """What the seed-screen steps saw, for the steps that check it."""

    def __init__(self) -> None:
        self.receipt: Any = None
        self.consent: Any = None
        self.page = ""
        self.mail: Any = None
        self.files_before: set[str] | None = None
        self.mails_before: int | None = None
        self.principal: contactbook.FamilyPrincipal | None = None
        self.registered_form: contactbook.RegistrationForm | None = None
        self.inmate_summary: Any = None
        self.applications: list[Any] = []
        self.targets: list[Any] = []
        self.posts: list[Any] = []
        self.months: list[Any] = []
        self.cards: list[Any] = []
        self.detail: Any = None
        self.download: Any = None
        self.download_bytes = b""
        self.uploads: dict[str, bytes] = {}  # display name -> bytes handed in
        self.log: list[Any] = []
        self.queue: list[Any] = []
        self.sheets: dict[str, Any] = {}  # reviewer -> review sheet they opened
        self.sheet: Any = None
        self.revealed = ""
        self.admin_list: list[Any] = []
        self.notice_items: dict[str, Any] = {}  # title -> back-office item last seen


@pytest.fixture
def seed_screens() -> SeedScreens:
    return SeedScreens()


# -- helpers -----------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    return [part for part in text.split(SEP) if part] if text and text != NO_FILES else []


def _subject_is(subject: str, expected: str) -> bool:
    """Subjects are bilingual ("zh / en"); the person reads the zh part first."""
    return subject == expected or subject.startswith(f"{expected} / ")


def _zh_subject(subject: str) -> str:
    return subject.split(" / ", 1)[0]


def _sample(filename: str) -> bytes:
    name = filename.lower()
    if name.endswith(".pdf"):
        return sample_pdf()
    if name.endswith(".png"):
        return sample_png()
    if name.endswith((".jpg", ".jpeg")):
        return sample_jpeg()
    raise AssertionError(f"no sample for {filename}")


def _uploads(seed: SeedScreens, names: Iterable[str]) -> list[contactbook.Upload]:
    uploads = []
    for name in names:
        upload = contactbook.Upload.from_bytes(name, _sample(name))
        seed.uploads[upload.display_name] = _sample(name)
        uploads.append(upload)
    return uploads


def _file_keys(world: World) -> set[str]:
    try:
        stored = world.book.files.keys()  # FileStore.keys(): (key, modified) pairs
        return {key for key, _ in stored}
    except FileNotFoundError:
        return set()


def _act(world: World, seed: SeedScreens, action: Callable[[], Any]) -> Any:
    """Note what is stored and sent, then try ``action`` (its error is kept, not raised)."""
    seed.files_before = _file_keys(world)
    seed.mails_before = len(world.outbox())
    return world.attempt(action)


def _require_success(world: World) -> None:
    assert world.error is None, f"failed: {world.error}"


def _enum_by_label(enum_type: Any, text: str) -> Any:
    for member in enum_type:
        if label(member) == text:
            return member
    raise AssertionError(f"no {enum_type.__name__} labelled {text!r}")


def _services(text: str) -> frozenset[contactbook.Service]:
    return frozenset(_enum_by_label(contactbook.Service, part) for part in _split(text))


def _staff(world: World, name: str) -> contactbook.StaffPrincipal:
    return world.admin if name == AGENCY_ADMIN else world.staff[name]


def _staff_facility(world: World, name: str) -> str | None:
    principal = _staff(world, name)
    with world.book.storage.unit_of_work() as uow:
        member = uow.staff.get(principal.staff_id)
    assert member is not None
    return member.facility_code


def _facility_filter(world: World, name: str) -> str | None:
    return None if name == ALL else world.facility_code(name)


def _day(text: str) -> date | None:
    return datetime.strptime(text, "%Y/%m/%d").date() if text else None


def _table_rows(datatable: list[list[str]]) -> list[dict[str, str]]:
    header, *rows = datatable
    return [dict(zip(header, row, strict=True)) for row in rows]


def _key_values(datatable: list[list[str]]) -> dict[str, str]:
    return {row[0]: row[1] for row in datatable}


def _check_table(actual: list[dict[str, str]], datatable: list[list[str]]) -> None:
    """The rows shown, in order, in the columns the feature names (all of them must exist)."""
    expected = _table_rows(datatable)
    shown = [{column: row[column] for column in datatable[0]} for row in actual]
    assert shown == expected, f"\nshown:    {shown}\nexpected: {expected}"


def _account(world: World, *, email: str | None = None, national_id: str | None = None) -> Any:
    with world.book.storage.unit_of_work() as uow:
        if email is not None:
            return uow.accounts.by_email(EmailAddress.parse(email).canonical)
        assert national_id is not None
        return uow.accounts.by_national_id(NationalId.parse(national_id).value)


def _post_author(world: World, title: str) -> contactbook.FamilyPrincipal:
    """The family member who wrote the post called ``title``."""
    for principal in world.families.values():
        try:
            world.book.posts.get(principal, world.posts[title])
        except errors.ContactBookError:
            continue
        return principal
    raise AssertionError(f"no author found for {title}")


def _family_post(world: World, title: str) -> Any:
    return world.book.posts.get(_post_author(world, title), world.posts[title])


def _mails_to(world: World, address: str) -> list[Any]:
    return [mail for mail in world.outbox() if mail.to == address]


# -- common: portal settings, mail, files ---------------------------------------------------


@given(step_re("入口網網址設定為 {url}"))
def portal_base_url(world: World, url: str) -> None:
    """Links in mail come from the settings' base URL (never from a request)."""
    context = world.book.context
    settings = attrs.evolve(context.settings, base_url=url)
    world.book = contactbook.ContactBook(attrs.evolve(context, settings=settings))


@then(step_re("信箱 {address} 收到主旨為 {subject} 的郵件"))
def mailbox_received(world: World, seed_screens: SeedScreens, address: str, subject: str) -> None:
    mails = [m for m in _mails_to(world, address) if _subject_is(m.subject, subject)]
    assert mails, [m.subject for m in _mails_to(world, address)]
    seed_screens.mail = mails[-1]


@then(step_re("該郵件內文含有 {text}"))
def mail_body_has(seed_screens: SeedScreens, text: str) -> None:
    assert seed_screens.mail is not None
    assert text in seed_screens.mail.body, seed_screens.mail.body


@then(step_re("該郵件中 {prefix} 一行為 {line}"))
def mail_line_is(seed_screens: SeedScreens, prefix: str, line: str) -> None:
    assert seed_screens.mail is not None
    lines = [x.strip() for x in seed_screens.mail.body.splitlines() if x.startswith(prefix)]
    assert lines == [line], lines


@then("系統沒有寄出任何郵件")
def no_mail_at_all(world: World) -> None:
    assert world.outbox() == []


@then("系統沒有寄出新的郵件")
def no_new_mail(world: World, seed_screens: SeedScreens) -> None:
    assert seed_screens.mails_before is not None
    assert len(world.outbox()) == seed_screens.mails_before, world.outbox()[
        seed_screens.mails_before :
    ]


@then("檔案儲存區沒有新增任何檔案")
def no_new_files(world: World, seed_screens: SeedScreens) -> None:
    assert seed_screens.files_before is not None
    assert _file_keys(world) == seed_screens.files_before


@when("系統寄出待寄的簡訊與電子郵件")
def dispatch_outbox(world: World) -> None:
    world.dispatch()


# -- 基本資料建檔 -------------------------------------------------------------------------


def _registration_form(name: str, email: str, national_id: str, **changes: Any) -> Any:
    form = contactbook.RegistrationForm(
        consent=True,
        name=name,
        birth_date=BIRTH_DATE,
        national_id=national_id,
        email=email,
        password=FAMILY_PASSWORD,
        mobile=MOBILE,
    )
    return attrs.evolve(form, **changes)


def _register(world: World, seed: SeedScreens, name: str, form: Any) -> None:
    seed.registered_form = form
    seed.receipt = _act(world, seed, lambda: world.book.accounts.register(form))
    if world.error is None and name not in world.families:
        account = _account(world, email=form.email)
        if account is not None and account.name == name:
            world.families[name] = world.book.accounts.principal(account.id)
            world.emails[name] = account.email.value


@when("訪客點擊註冊")
def open_consent_notice(world: World, seed_screens: SeedScreens) -> None:
    seed_screens.consent = world.book.accounts.consent_notice()


@then(step_re("個資聲明標題為 {title}"))
def consent_title(seed_screens: SeedScreens, title: str) -> None:
    assert seed_screens.consent.title == title


@then(step_re("個資聲明版本為 {version}"))
def consent_version(seed_screens: SeedScreens, version: str) -> None:
    assert seed_screens.consent.version == version


@then(step_re("個資聲明內文提到 {text}"))
def consent_mentions(seed_screens: SeedScreens, text: str) -> None:
    assert text in seed_screens.consent.text, seed_screens.consent.text


_REGISTER = (
    r'"(?P<name>[^"]+)" {action}送出註冊資料'
    r"（Email (?P<email>[^，\s]+)，身分證號 (?P<national_id>[^）\s]+)）"
)


@when(parsers.re(_REGISTER.format(action="未勾選個資聲明就")))
def register_without_consent(
    world: World, seed_screens: SeedScreens, name: str, email: str, national_id: str
) -> None:
    _register(
        world, seed_screens, name, _registration_form(name, email, national_id, consent=False)
    )


@given(parsers.re(_REGISTER.format(action="勾選個資聲明並")))
def registered_with_consent(
    world: World, seed_screens: SeedScreens, name: str, email: str, national_id: str
) -> None:
    _register(world, seed_screens, name, _registration_form(name, email, national_id))
    _require_success(world)


@when(parsers.re(_REGISTER.format(action="勾選個資聲明並")))
def register_with_consent(
    world: World, seed_screens: SeedScreens, name: str, email: str, national_id: str
) -> None:
    _register(world, seed_screens, name, _registration_form(name, email, national_id))


_FORM_FIELDS = {"Email": "email", "身分證號": "national_id", "手機": "mobile"}


@when(
    parsers.re(
        r'"(?P<name>[^"]+)" 勾選個資聲明並送出註冊資料，其中(?P<field>\S+?)填寫 "(?P<value>[^"]*)"'
    )
)
def register_with_bad_field(
    world: World, seed_screens: SeedScreens, name: str, field: str, value: str
) -> None:
    form = _registration_form(name, "ty.wang@example.com", "A123456789")
    _register(world, seed_screens, name, attrs.evolve(form, **{_FORM_FIELDS[field]: value}))


@then(parsers.re(r'註冊表單的(?P<field>\S+?)欄標示錯誤 "(?P<code>[^"]+)"'))
def form_field_error(world: World, field: str, code: str) -> None:
    assert isinstance(world.error, errors.ValidationError), world.error
    assert world.error.fields.get(_FORM_FIELDS[field]) == code, world.error.fields


@when(
    step_re(
        "有人勾選個資聲明，以姓名 {name}、Email {email}、身分證號 {national_id}、"
        "密碼 {password} 送出註冊資料"
    )
)
def someone_registers(
    world: World, seed_screens: SeedScreens, name: str, email: str, national_id: str, password: str
) -> None:
    form = _registration_form(name, email, national_id, password=password)
    _register(world, seed_screens, name, form)


@then(step_re("系統中沒有 Email {email} 或身分證號 {national_id} 的帳號"))
def no_such_account(world: World, email: str, national_id: str) -> None:
    assert _account(world, email=email) is None
    assert _account(world, national_id=national_id) is None


@then(step_re("帳號註冊結果頁顯示 {text}"))
def registration_page(world: World, seed_screens: SeedScreens, text: str) -> None:
    _require_success(world)
    assert seed_screens.receipt.message == text


@then(step_re("該郵件的驗證連結以 {prefix} 開頭"))
def verification_link_prefix(seed_screens: SeedScreens, prefix: str) -> None:
    links = VERIFY_LINK.findall(seed_screens.mail.body)
    assert links, seed_screens.mail.body
    assert all(link.startswith(prefix) for link in links), links
    token = links[0].split("token=", 1)[1]
    assert len(token) >= 32, "the token must be long enough not to be guessed"


def _login(world: World, email: str, password: str = FAMILY_PASSWORD) -> Any:
    return world.attempt(lambda: world.book.accounts.authenticate(email, password))


@then(step_re("以 {email} 登入被拒，錯誤代碼為 {code}"))
def login_refused(world: World, email: str, code: str) -> None:
    _login(world, email)
    assert world.error is not None and world.error.code == code, world.error or world.result


@then(step_re("以 {email} 及密碼 {password} 登入失敗，錯誤代碼為 {code}"))
def login_with_password_fails(world: World, email: str, password: str, code: str) -> None:
    _login(world, email, password)
    assert world.error is not None and world.error.code == code, world.error or world.result


@then(step_re("以 {email} 登入成功"))
def login_succeeds(world: World, seed_screens: SeedScreens, email: str) -> None:
    seed_screens.principal = _login(world, email)
    _require_success(world)
    assert isinstance(seed_screens.principal, contactbook.FamilyPrincipal)


@then(step_re("以 {email} 登入的結果為 {outcome}"))
def login_outcome(world: World, email: str, outcome: str) -> None:
    _login(world, email)
    if outcome == "登入成功":
        _require_success(world)
    else:
        assert world.error is not None and world.error.code == outcome, world.error


def _verification_token(world: World, address: str) -> str:
    links = [link for mail in _mails_to(world, address) for link in VERIFY_LINK.findall(mail.body)]
    assert links, f"no verification mail to {address}"
    return links[-1].split("token=", 1)[1]


def _verify(world: World, seed: SeedScreens, token: str) -> None:
    seed.page = ""
    world.attempt(lambda: world.book.accounts.verify_email(token))
    if world.error is None:
        seed.page = translate("page.verification_done")


@given(step_re("點選寄給 {address} 的驗證連結"))
def clicked_verification_link(world: World, seed_screens: SeedScreens, address: str) -> None:
    _verify(world, seed_screens, _verification_token(world, address))
    _require_success(world)


@when(step_re("點選寄給 {address} 的驗證連結"))
@when(step_re("再次點選寄給 {address} 的驗證連結"))
def click_verification_link(world: World, seed_screens: SeedScreens, address: str) -> None:
    _verify(world, seed_screens, _verification_token(world, address))


@when(step_re("以驗證碼 {token} 進行帳號驗證"))
def verify_with_token(world: World, seed_screens: SeedScreens, token: str) -> None:
    _verify(world, seed_screens, token)


@then(step_re("帳號驗證結果頁顯示 {text}"))
def verification_page(world: World, seed_screens: SeedScreens, text: str) -> None:
    _require_success(world)
    assert seed_screens.page == text


@then(step_re("帳號驗證的結果為 {outcome}"))
def verification_outcome(world: World, seed_screens: SeedScreens, outcome: str) -> None:
    if world.error is None:
        assert seed_screens.page == outcome
    else:
        assert world.error.code == outcome, world.error


@then(step_re("該帳號留存同意的個資聲明版本 {version}，同意時間為 {moment}"))
def consent_kept(world: World, seed_screens: SeedScreens, version: str, moment: str) -> None:
    assert seed_screens.principal is not None
    exported = read_export(world.book.accounts.export_my_data(seed_screens.principal))
    consent = exported["profile"]["consent"]
    assert consent["notice_version"] == version
    assert format_datetime(datetime.fromisoformat(consent["accepted_at"])) == moment


@then(step_re("註冊嘗試通知內文含有 {text}"))
def attempt_mail_says(world: World, text: str) -> None:
    bodies = [m.body for m in world.outbox() if "註冊嘗試" in m.subject]
    assert bodies and all(text in body for body in bodies), bodies


@then(parsers.re(r'系統只寄出 (?P<count>\d+) 封 "(?P<subject>[^"]+)"'))
def only_n_mails(world: World, count: str, subject: str) -> None:
    mails = [m for m in world.outbox() if _subject_is(m.subject, subject)]
    assert len(mails) == int(count), [m.to for m in mails]


@then(step_re("以 Email {email} 或身分證號 {national_id} 都查不到 {family} 以外的帳號"))
def no_other_account(world: World, email: str, national_id: str, family: str) -> None:
    owner = world.families[family].account_id
    for found in (_account(world, email=email), _account(world, national_id=national_id)):
        assert found is None or found.id == owner, found


@then(step_re("身分證號 {national_id} 與 Email {email} 仍屬於 {family} 的同一個帳號"))
def still_one_account(world: World, national_id: str, email: str, family: str) -> None:
    by_id = _account(world, national_id=national_id)
    by_email = _account(world, email=email)
    assert by_id is not None and by_email is not None
    assert by_id.id == by_email.id == world.families[family].account_id
    assert by_id.name == family


# -- 服務項目申請 -------------------------------------------------------------------------

_EVIDENCE_FIELDS = {
    "身分證明文件": "id_document",
    "關係證明文件": "relationship_proof",
    "正面清晰照片": "frontal_photo",
}
_DEFAULT_EVIDENCE = {
    "身分證明文件": "身分證.pdf",
    "關係證明文件": "戶口名簿.png",
    "正面清晰照片": "正面照.jpg",
}


def _apply(
    world: World,
    seed: SeedScreens,
    family: str,
    code: str,
    call_number: str,
    relationship: str,
    services: str,
    evidence: dict[str, str],
) -> None:
    files = {_EVIDENCE_FIELDS[kind]: _uploads(seed, [name])[0] for kind, name in evidence.items()}
    form = contactbook.ApplicationForm(
        facility_code=code,
        call_number=call_number,
        relationship=_enum_by_label(contactbook.Relationship, relationship or "子女"),
        services=_services(services),
        **files,
    )
    _act(world, seed, lambda: world.book.applications.apply(world.families[family], form))


@when(step_re("{family} 在服務項目申請頁選擇矯正機關 {facility}、輸入呼號 {call_number} 並查詢"))
def find_inmate_by_name(
    world: World, seed_screens: SeedScreens, family: str, facility: str, call_number: str
) -> None:
    seed_screens.inmate_summary = world.attempt(
        lambda: world.book.inmates.find(
            world.families[family], world.facility_code(facility), call_number
        )
    )


@when(step_re("{family} 在服務項目申請頁以矯正機關代碼 {code}、呼號 {call_number} 查詢"))
def find_inmate_by_code(
    world: World, seed_screens: SeedScreens, family: str, code: str, call_number: str
) -> None:
    seed_screens.inmate_summary = world.attempt(
        lambda: world.book.inmates.find(world.families[family], code, call_number)
    )


@then(step_re("申請對象顯示為 {text}"))
def applicant_target(world: World, seed_screens: SeedScreens, text: str) -> None:
    _require_success(world)
    assert seed_screens.inmate_summary.label == text


@then(step_re("查詢結果不含收容人全名 {name}"))
def summary_hides_name(seed_screens: SeedScreens, name: str) -> None:
    shown = attrs.asdict(seed_screens.inmate_summary)
    assert all(name not in str(value) for value in shown.values()), shown


@when(
    step_re(
        "{family} 對 {facility} 呼號 {call_number} 以關係 {relationship} "
        "申請服務項目 {services}，上傳佐證檔案："
    )
)
def apply_with_files(
    world: World,
    seed_screens: SeedScreens,
    family: str,
    facility: str,
    call_number: str,
    relationship: str,
    services: str,
    datatable: list[list[str]],
) -> None:
    evidence = {row["佐證項目"]: row["檔名"] for row in _table_rows(datatable)}
    _apply(
        world,
        seed_screens,
        family,
        world.facility_code(facility),
        call_number,
        relationship,
        services,
        evidence,
    )


_APPLY = (
    r'"(?P<family>[^"]+)" 以矯正機關代碼 "(?P<code>[^"]*)"、呼號 "(?P<call_number>[^"]*)"'
    r'(?: 以關係 "(?P<relationship>[^"]+)")? 申請服務項目 "(?P<services>[^"]+)"'
)


@given(parsers.re(_APPLY + "，並上傳三項佐證檔案"))
def applied(
    world: World,
    seed_screens: SeedScreens,
    family: str,
    code: str,
    call_number: str,
    relationship: str | None,
    services: str,
) -> None:
    _apply(
        world,
        seed_screens,
        family,
        code,
        call_number,
        relationship or "",
        services,
        _DEFAULT_EVIDENCE,
    )
    _require_success(world)


@when(parsers.re(_APPLY + "，並上傳三項佐證檔案"))
def apply(
    world: World,
    seed_screens: SeedScreens,
    family: str,
    code: str,
    call_number: str,
    relationship: str | None,
    services: str,
) -> None:
    _apply(
        world,
        seed_screens,
        family,
        code,
        call_number,
        relationship or "",
        services,
        _DEFAULT_EVIDENCE,
    )


@when(parsers.re(_APPLY + "，但未上傳(?P<missing>.+)"))
def apply_without(
    world: World,
    seed_screens: SeedScreens,
    family: str,
    code: str,
    call_number: str,
    relationship: str | None,
    services: str,
    missing: str,
) -> None:
    assert missing in _DEFAULT_EVIDENCE, missing
    evidence = {kind: name for kind, name in _DEFAULT_EVIDENCE.items() if kind != missing}
    _apply(world, seed_screens, family, code, call_number, relationship or "", services, evidence)


@then(parsers.re(r'申請表單的(?P<missing>\S+?)欄標示錯誤 "(?P<code>[^"]+)"'))
def application_field_error(world: World, missing: str, code: str) -> None:
    assert isinstance(world.error, errors.ValidationError), world.error
    assert world.error.fields == {_EVIDENCE_FIELDS[missing]: code}, world.error.fields


@then(step_re("服務項目申請頁顯示 {text}"))
def application_page(world: World, text: str) -> None:
    _require_success(world)
    assert translate("page.application_submitted") == text


def _my_applications(world: World, family: str) -> list[Any]:
    return list(world.book.applications.list_mine(world.families[family]).items)


@then(
    parsers.re(
        r'"(?P<family>[^"]+)" 的服務項目申請共 (?P<count>\d+) 筆，狀態為 "(?P<status>[^"]+)"'
    )
)
def applications_count(world: World, family: str, count: str, status: str) -> None:
    mine = _my_applications(world, family)
    assert len(mine) == int(count), mine
    assert {a.status_label for a in mine} == {status}


@then(step_re("{family} 沒有任何服務項目申請"))
def no_applications(world: World, family: str) -> None:
    assert _my_applications(world, family) == []


@then(
    parsers.re(
        r'"(?P<reviewer>[^"]+)" 的服務項目審核列表有 (?P<count>\d+) 筆，'
        r'申請人為 "(?P<applicant>[^"]+)"，佐證檔案為：'
    )
)
def application_queue(
    world: World, reviewer: str, count: str, applicant: str, datatable: list[list[str]]
) -> None:
    staff = _staff(world, reviewer)
    queued = list(world.book.applications.queue(staff).items)
    assert len(queued) == int(count), queued
    sheet = world.book.applications.open(staff, queued[0].id)
    assert sheet.applicant_name == applicant
    shown = [{"佐證項目": kind, "檔名": f.filename} for kind, f in sheet.evidence]
    _check_table(shown, datatable)


@given(step_re("{facility} 重新匯入名冊，呼號 {call_number} 已不在名冊中"))
def inmate_left_roster(world: World, facility: str, call_number: str) -> None:
    code = world.facility_code(facility)
    del world.rosters[code][call_number]
    report = import_roster(world, code)
    assert report.left == 1, report


# -- 服務項目狀態查詢 ---------------------------------------------------------------------


@when(step_re("{family} 查看服務項目狀態"))
def view_application_status(world: World, seed_screens: SeedScreens, family: str) -> None:
    seed_screens.applications = _my_applications(world, family)


@then("服務項目狀態表為：")
def application_status_table(seed_screens: SeedScreens, datatable: list[list[str]]) -> None:
    shown = [
        {
            "矯正機關": a.facility_name,
            "收容人": a.inmate,
            "關係": a.relationship,
            "服務項目": a.services_label,
            "狀態": a.status_label,
            "審核時間": a.reviewed_on,
        }
        for a in seed_screens.applications
    ]
    _check_table(shown, datatable)


@then("服務項目狀態表沒有任何資料")
def application_status_empty(seed_screens: SeedScreens) -> None:
    assert seed_screens.applications == []


def _decide_application(
    world: World, seed: SeedScreens, reviewer: str, family: str, decide: Callable[..., Any]
) -> None:
    staff = _staff(world, reviewer)
    (mine,) = _my_applications(world, family)
    version = world.book.applications.open(staff, mine.id).application.version
    _act(world, seed, lambda: decide(staff, mine.id, version))


def _approve_all(world: World, seed: SeedScreens, reviewer: str, family: str) -> None:
    _decide_application(
        world,
        seed,
        reviewer,
        family,
        lambda staff, id_, version: world.book.applications.approve(staff, id_, None, version),
    )


@given(step_re("{reviewer} 核准 {family} 申請的全部服務項目"))
def approved_all(world: World, seed_screens: SeedScreens, reviewer: str, family: str) -> None:
    _approve_all(world, seed_screens, reviewer, family)
    _require_success(world)


@when(step_re("{reviewer} 核准 {family} 申請的全部服務項目"))
def approve_all(world: World, seed_screens: SeedScreens, reviewer: str, family: str) -> None:
    _approve_all(world, seed_screens, reviewer, family)


@when(step_re("{reviewer} 只核准 {family} 申請的 {services}"))
def approve_some(
    world: World, seed_screens: SeedScreens, reviewer: str, family: str, services: str
) -> None:
    chosen = _services(services)
    _decide_application(
        world,
        seed_screens,
        reviewer,
        family,
        lambda staff, id_, version: world.book.applications.approve(staff, id_, chosen, version),
    )


@when(step_re("{reviewer} 以原因 {reason}、說明 {note} 退回 {family} 的服務項目申請"))
def reject_application(
    world: World, seed_screens: SeedScreens, reviewer: str, reason: str, note: str, family: str
) -> None:
    chosen: Any = None  # 請選擇: no reason chosen
    if reason != NO_REASON:
        chosen = _enum_by_label(contactbook.ApplicationRejectionReason, reason)
    _decide_application(
        world,
        seed_screens,
        reviewer,
        family,
        lambda staff, id_, version: world.book.applications.reject(
            staff, id_, chosen, note, version
        ),
    )


@then(step_re("服務項目申請的不通過原因為 {reason}，說明為 {note}"))
def application_rejection_shown(seed_screens: SeedScreens, reason: str, note: str) -> None:
    (shown,) = seed_screens.applications
    assert (shown.rejection_reason_label, shown.rejection_note) == (reason, note)


@then(step_re("{family} 可發佈家庭聯絡簿的收容人為 {labels}"))
def post_targets(world: World, family: str, labels: str) -> None:
    targets = world.book.posts.targets(world.families[family])
    assert [t.label for t in targets] == _split(labels)


@then(step_re("{family} 沒有可發佈家庭聯絡簿的收容人"))
def no_post_targets(world: World, family: str) -> None:
    assert world.book.posts.targets(world.families[family]) == []


# -- 發佈家庭聯絡簿 -----------------------------------------------------------------------


def _post_filter(text: str) -> contactbook.PostStatus | None:
    if text == ALL:
        return None
    return _enum_by_label(contactbook.PostStatus, text)


@given(
    step_re("{facility} 的家庭聯絡簿附件採用操作手冊的多檔設定（PDF、JPG、JPEG、PNG 合計 20MB）")
)
def documents_profile(world: World, facility: str) -> None:
    code = world.facility_code(facility)
    policy = world.book.facilities.policy(code)
    world.book.facilities.set_policy(
        world.admin, code, attrs.evolve(policy, attachment_profile=contactbook.DOCUMENTS_PROFILE)
    )


@when(step_re("{family} 點擊新增家庭聯絡簿"))
def open_new_post(world: World, seed_screens: SeedScreens, family: str) -> None:
    seed_screens.targets = world.book.posts.targets(world.families[family])


@then(step_re("發佈家庭聯絡簿頁顯示 {text}"))
def new_post_page(seed_screens: SeedScreens, text: str) -> None:
    assert [f"呼號：{t.label}" for t in seed_screens.targets] == [text]


def _publish(
    world: World,
    seed: SeedScreens,
    family: str,
    call_number: str,
    title: str,
    files: str,
    body: str,
) -> None:
    draft = contactbook.PostDraft(
        inmate_id=world.inmates[call_number],
        title=title,
        body=body,
        attachments=_uploads(seed, _split(files)),
    )
    view = _act(world, seed, lambda: world.book.posts.publish(world.families[family], draft))
    if view is not None:
        world.posts[title] = view.id


_PUBLISH = (
    "{family} {done}發佈家庭聯絡簿給收容人 {call_number}，標題 {title}，附件 {files}，內文為："
)


@given(step_re(_PUBLISH.replace("{done}", "已")))
def post_published(
    world: World,
    seed_screens: SeedScreens,
    family: str,
    call_number: str,
    title: str,
    files: str,
    docstring: str,
) -> None:
    _publish(world, seed_screens, family, call_number, title, files, docstring)
    _require_success(world)


@when(step_re(_PUBLISH.replace("{done}", "")))
def publish_post(
    world: World,
    seed_screens: SeedScreens,
    family: str,
    call_number: str,
    title: str,
    files: str,
    docstring: str,
) -> None:
    _publish(world, seed_screens, family, call_number, title, files, docstring)


@when(step_re("{family} 以審核狀態 {status} 查看已發佈的家庭聯絡簿"))
def list_my_posts(world: World, seed_screens: SeedScreens, family: str, status: str) -> None:
    page = world.book.posts.list_mine(world.families[family], status=_post_filter(status))
    seed_screens.posts = list(page.items)


@then("已發佈的家庭聯絡簿列表為：")
def my_posts_table(seed_screens: SeedScreens, datatable: list[list[str]]) -> None:
    shown = [
        {
            "發佈對象": p.to,
            "標題": p.title,
            "發佈日期": p.submitted_on,
            "狀態": p.status_label,
            "附件": SEP.join(a.filename for a in p.attachments),
        }
        for p in seed_screens.posts
    ]
    _check_table(shown, datatable)


@then(step_re("列出的家庭聯絡簿依序為 {titles}"))
def my_posts_titles(seed_screens: SeedScreens, titles: str) -> None:
    assert [p.title for p in seed_screens.posts] == _split(titles)


@then(step_re("家庭聯絡簿 {title} 的內文為："))
def post_body(world: World, title: str, docstring: str) -> None:
    assert _family_post(world, title).body == docstring


@then(step_re("家庭聯絡簿 {title} 在家屬端的狀態為 {status}"))
def post_status_for_family(world: World, title: str, status: str) -> None:
    assert _family_post(world, title).status_label == status


@then(step_re("{family} 沒有發佈任何家庭聯絡簿"))
def no_posts(world: World, family: str) -> None:
    assert list(world.book.posts.list_mine(world.families[family]).items) == []


@given("逾期未審核的家庭聯絡簿都已過期")
def overdue_posts_expired(world: World) -> None:
    report = world.book.maintenance.expire_overdue()
    assert report.expired_posts >= 1, report


def _pending_queue(world: World, reviewer: str) -> list[Any]:
    return list(world.book.moderation.queue(_staff(world, reviewer)).items)


@then(parsers.re(r'"(?P<reviewer>[^"]+)" 的家庭聯絡簿審查列表有 (?P<count>\d+) 筆待審核'))
def pending_count(world: World, reviewer: str, count: str) -> None:
    queued = _pending_queue(world, reviewer)
    assert len(queued) == int(count), queued
    assert {item.status_label for item in queued} == {"待審核"}


@then(step_re("{reviewer} 的家庭聯絡簿審查列表沒有待審核的紀錄"))
def nothing_pending(world: World, reviewer: str) -> None:
    assert _pending_queue(world, reviewer) == []


def _current_version(world: World, title: str) -> int:
    return int(_family_post(world, title).version)


@given(step_re("{reviewer} 核准家庭聯絡簿 {title}"))
def post_approved_by(world: World, reviewer: str, title: str) -> None:
    sheet = world.book.moderation.open(_staff(world, reviewer), world.posts[title])
    world.book.moderation.approve(_staff(world, reviewer), sheet.post.id, sheet.post.version)


@given(step_re("{reviewer} 以原因 {reason} 退回家庭聯絡簿 {title}"))
def post_rejected_by(world: World, reviewer: str, reason: str, title: str) -> None:
    sheet = world.book.moderation.open(_staff(world, reviewer), world.posts[title])
    chosen = _enum_by_label(contactbook.PostRejectionReason, reason)
    world.book.moderation.reject(
        _staff(world, reviewer), sheet.post.id, chosen, "", sheet.post.version
    )


# -- 查看機關聯絡簿 -----------------------------------------------------------------------


def _audience(world: World, publisher: str, text: str) -> contactbook.Audience | None:
    if text == NO_AUDIENCE:
        return None
    code = _staff_facility(world, publisher)
    assert code is not None, "only a facility's staff address one inmate's family"
    return contactbook.Audience.inmate(code, world.inmates[text])


def _remember_notice(world: World, seed: SeedScreens, item: Any) -> None:
    world.notices[item.title] = item.id
    seed.notice_items[item.title] = item


@given(
    step_re("{publisher} 已發佈機關聯絡簿 {title}，發佈對象 {audience}，附件 {files}，內容 {body}")
)
def notice_published(
    world: World,
    seed_screens: SeedScreens,
    publisher: str,
    title: str,
    audience: str,
    files: str,
    body: str,
) -> None:
    draft = contactbook.NoticeDraft(
        title=title,
        body=body,
        audience=_audience(world, publisher, audience),
        attachments=_uploads(seed_screens, _split(files)),
    )
    item = world.book.notices.publish(_staff(world, publisher), draft)
    _remember_notice(world, seed_screens, item)


@when(step_re("{family} 進入查看機關聯絡簿"))
def view_notices(world: World, seed_screens: SeedScreens, family: str) -> None:
    principal = world.families[family]
    seed_screens.months = world.book.notices.months_for_family(principal)
    seed_screens.cards = list(world.book.notices.list_for_family(principal).items)


@when(step_re("{family} 在查看機關聯絡簿選擇發佈年月 {month}"))
def view_notices_of_month(world: World, seed_screens: SeedScreens, family: str, month: str) -> None:
    principal = world.families[family]
    months = {m.label: m.month for m in world.book.notices.months_for_family(principal)}
    page = world.book.notices.list_for_family(principal, month=months[month])
    seed_screens.cards = list(page.items)


@then(step_re("發佈年月依序為 {labels}"))
def notice_months(seed_screens: SeedScreens, labels: str) -> None:
    assert [m.label for m in seed_screens.months] == _split(labels)


@then("機關聯絡簿卡片依序為：")
def notice_cards(seed_screens: SeedScreens, datatable: list[list[str]]) -> None:
    shown = [
        {
            "發佈年月": c.month.label,
            "照片": c.photo.filename if c.photo else "",
            "日期": c.published_on,
            "標題": c.title,
            "發佈者": f"From {c.publisher}",
            "摘要": c.excerpt,
        }
        for c in seed_screens.cards
    ]
    _check_table(shown, datatable)


@then(step_re("機關聯絡簿卡片中沒有 {title}"))
def notice_card_absent(seed_screens: SeedScreens, title: str) -> None:
    assert seed_screens.cards, "the list is empty: nothing was checked"
    assert title not in [c.title for c in seed_screens.cards]


@then(step_re("機關聯絡簿卡片的標題依序為 {titles}"))
def notice_card_titles(seed_screens: SeedScreens, titles: str) -> None:
    assert [c.title for c in seed_screens.cards] == _split(titles)


@then(step_re("機關聯絡簿 {title} 的摘要為 {excerpt}"))
def notice_excerpt(seed_screens: SeedScreens, title: str, excerpt: str) -> None:
    (card,) = [c for c in seed_screens.cards if c.title == title]
    assert card.excerpt == excerpt


@when(step_re("{family} 點擊機關聯絡簿 {title} 的詳細內容"))
def open_notice(world: World, seed_screens: SeedScreens, family: str, title: str) -> None:
    seed_screens.detail = world.attempt(
        lambda: world.book.notices.get_for_family(world.families[family], world.notices[title])
    )


@then("機關聯絡簿明細為：")
def notice_detail(world: World, seed_screens: SeedScreens, datatable: list[list[str]]) -> None:
    _require_success(world)
    detail = seed_screens.detail
    shown = {
        "標題": detail.title,
        "發佈日期": detail.published_on,
        "發佈對象": detail.audience,
        "發佈內容": detail.body,
    }
    assert shown == _key_values(datatable)


@then(step_re("明細的附件依序為 {names}"))
def notice_detail_files(seed_screens: SeedScreens, names: str) -> None:
    assert [a.filename for a in seed_screens.detail.attachments] == _split(names)


def _download(world: World, seed: SeedScreens, action: Callable[[], Any]) -> None:
    seed.download = world.attempt(action)
    seed.download_bytes = seed.download.stream.read() if seed.download is not None else b""


@when(step_re("{family} 在明細頁下載附件 {name}"))
def download_notice_file(world: World, seed_screens: SeedScreens, family: str, name: str) -> None:
    detail = seed_screens.detail
    (attachment,) = [a for a in detail.attachments if a.filename == name]
    _download(
        world,
        seed_screens,
        lambda: world.book.notices.attachment(world.families[family], detail.id, attachment.id),
    )


@when(step_re("{family} 直接下載機關聯絡簿 {title} 的第一個附件"))
def download_foreign_notice_file(
    world: World, seed_screens: SeedScreens, family: str, title: str
) -> None:
    item = seed_screens.notice_items[title]
    assert item.attachments, f"{title} has no attachment to try"
    _download(
        world,
        seed_screens,
        lambda: world.book.notices.attachment(
            world.families[family], item.id, item.attachments[0].id
        ),
    )


@then(step_re("下載的檔案名稱為 {name}，類型為 {content_type}，內容與上傳的檔案相同"))
def downloaded(world: World, seed_screens: SeedScreens, name: str, content_type: str) -> None:
    _require_success(world)
    download = seed_screens.download
    assert (download.filename, download.content_type) == (name, content_type)
    assert seed_screens.download_bytes == seed_screens.uploads[name]
    assert download.size == len(seed_screens.download_bytes)


# -- 查詢簡訊電子郵件紀錄 -----------------------------------------------------------------


@when(step_re("{family} 查看簡訊電子郵件紀錄"))
def view_message_log(world: World, seed_screens: SeedScreens, family: str) -> None:
    seed_screens.log = list(world.book.messages.log_for(world.families[family]).items)


@then(parsers.re(r"簡訊電子郵件紀錄共 (?P<count>\d+) 筆"))
def message_log_count(seed_screens: SeedScreens, count: str) -> None:
    assert len(seed_screens.log) == int(count), seed_screens.log


def _log_entry(seed: SeedScreens, number: str) -> Any:
    return seed.log[int(number) - 1]


@then(parsers.re(r"第 (?P<number>\d+) 筆簡訊電子郵件紀錄為："))
def message_log_entry(seed_screens: SeedScreens, number: str, datatable: list[list[str]]) -> None:
    entry = _log_entry(seed_screens, number)
    expected = _key_values(datatable)
    assert _subject_is(entry.subject, expected.pop("主旨")), entry.subject
    shown = {"分類": entry.category, "傳送時間": entry.sent_time, "傳送目的": entry.destination}
    assert shown == expected


@then(parsers.re(r'第 (?P<number>\d+) 筆簡訊電子郵件紀錄的內文含有 "(?P<text>[^"]+)"'))
def message_log_body(seed_screens: SeedScreens, number: str, text: str) -> None:
    body = _log_entry(seed_screens, number).body
    assert text in body, body


@then(
    parsers.re(
        r'第 (?P<number>\d+) 筆簡訊電子郵件紀錄的內文沒有寄給 "(?P<address>[^"]+)" 的驗證連結'
    )
)
def message_log_no_link(world: World, seed_screens: SeedScreens, number: str, address: str) -> None:
    token = _verification_token(world, address)  # the mail itself carries it
    body = _log_entry(seed_screens, number).body
    assert token not in body and "token=" not in body, body


@then(step_re("簡訊電子郵件紀錄中沒有完整的 Email {email}"))
def message_log_masked(seed_screens: SeedScreens, email: str) -> None:
    assert seed_screens.log, "the log is empty: nothing was checked"
    assert all(email not in repr(entry) for entry in seed_screens.log)


@then(step_re("簡訊電子郵件紀錄的傳送目的依序為 {destinations}"))
def message_log_destinations(seed_screens: SeedScreens, destinations: str) -> None:
    assert [e.destination for e in seed_screens.log] == _split(destinations)


@then(step_re("簡訊電子郵件紀錄的主旨依序為 {subjects}"))
def message_log_subjects(seed_screens: SeedScreens, subjects: str) -> None:
    assert [_zh_subject(e.subject) for e in seed_screens.log] == _split(subjects)


# -- 家庭聯絡簿審查 -----------------------------------------------------------------------


@when(
    step_re(
        "{reviewer} 查詢家庭聯絡簿審查，機關名稱 {facility}、審核狀態 {status}、"
        "申請日期 {start} 至 {end}"
    )
)
def query_review_queue(
    world: World,
    seed_screens: SeedScreens,
    reviewer: str,
    facility: str,
    status: str,
    start: str,
    end: str,
) -> None:
    page = world.attempt(
        lambda: world.book.moderation.queue(
            _staff(world, reviewer),
            facility=_facility_filter(world, facility),
            status=_post_filter(status),
            submitted_from=_day(start),
            submitted_to=_day(end),
        )
    )
    seed_screens.queue = list(page.items) if page is not None else []


@then("家庭聯絡簿審查列表為：")
def review_queue_table(world: World, seed_screens: SeedScreens, datatable: list[list[str]]) -> None:
    _require_success(world)
    shown = [
        {
            "照片": item.photo.filename if item.photo else "",
            "矯正機關": item.facility_name,
            "內容": item.content,
            "發佈日期": item.submitted_on,
            "狀態": item.status_label,
        }
        for item in seed_screens.queue
    ]
    _check_table(shown, datatable)


@then(parsers.re(r"家庭聯絡簿審查列表共 (?P<count>\d+) 筆"))
def review_queue_count(world: World, seed_screens: SeedScreens, count: str) -> None:
    _require_success(world)
    assert len(seed_screens.queue) == int(count), seed_screens.queue


def _open_sheet(world: World, seed: SeedScreens, reviewer: str, title: str) -> None:
    sheet = world.attempt(
        lambda: world.book.moderation.open(_staff(world, reviewer), world.posts[title])
    )
    if sheet is not None:
        seed.sheets[reviewer] = sheet
        seed.sheet = sheet


@given(step_re("{reviewer} 點擊家庭聯絡簿 {title} 的審核"))
def opened_review(world: World, seed_screens: SeedScreens, reviewer: str, title: str) -> None:
    _open_sheet(world, seed_screens, reviewer, title)
    _require_success(world)


@when(step_re("{reviewer} 點擊家庭聯絡簿 {title} 的審核"))
def open_review(world: World, seed_screens: SeedScreens, reviewer: str, title: str) -> None:
    _open_sheet(world, seed_screens, reviewer, title)


_INMATE_FIELDS = {
    "呼號": "call_number",
    "收容人": "name",
    "性別": "gender",
    "出生日期": "birth_date",
    "身分證號": "national_id",
    "教化等級": "education_grade",
    "入監所日期": "admitted_on",
    "入本監日期": "admitted_here_on",
    "處分種類": "custody_type",
}
_FAMILY_FIELDS = {
    "申請人": "name",
    "出生日期": "birth_date",
    "身分證號": "national_id",
    "關係": "relationship",
    "電話": "phone",
    "手機": "mobile",
    "Email": "email",
}


@then("審核頁的收容人資訊為：")
def sheet_inmate(world: World, seed_screens: SeedScreens, datatable: list[list[str]]) -> None:
    _require_success(world)
    expected = _key_values(datatable)
    shown = {k: seed_screens.sheet.inmate[_INMATE_FIELDS[k]] for k in expected}
    assert shown == expected


@then("審核頁的家屬資訊為：")
def sheet_family(seed_screens: SeedScreens, datatable: list[list[str]]) -> None:
    expected = _key_values(datatable)
    shown = {k: seed_screens.sheet.family[_FAMILY_FIELDS[k]] for k in expected}
    assert shown == expected


@then(step_re("審核頁的聯絡簿標題為 {title}，附件為 {files}，內容為："))
def sheet_content(seed_screens: SeedScreens, title: str, files: str, docstring: str) -> None:
    post = seed_screens.sheet.post
    assert (post.title, post.body) == (title, docstring)
    assert [a.filename for a in post.attachments] == _split(files)


@then(step_re("審核頁的不通過原因選項為 {labels}"))
def sheet_reasons(seed_screens: SeedScreens, labels: str) -> None:
    # Joined, not split: a label itself contains 、 (如接見申請、在監證明、喪假).
    assert SEP.join(text for _, text in seed_screens.sheet.rejection_reasons) == labels


@then(parsers.re(r"審核頁任何地方都不出現 (?P<values>.+)"))
def sheet_hides(seed_screens: SeedScreens, values: str) -> None:
    hidden = re.findall(r'"([^"]+)"', values)
    assert hidden
    shown = repr(attrs.asdict(seed_screens.sheet))
    assert [value for value in hidden if value in shown] == []


def _decide_post(
    world: World,
    seed: SeedScreens,
    reviewer: str,
    result: str,
    reason: str | None = None,
    note: str = "",
) -> None:
    sheet = seed.sheets[reviewer]
    staff = _staff(world, reviewer)
    post_id, version = sheet.post.id, sheet.post.version
    if result == "審核通過":
        _act(world, seed, lambda: world.book.moderation.approve(staff, post_id, version))
        return
    assert result == "審核未通過", result
    chosen: Any = None
    if reason and reason != NO_REASON:
        chosen = _enum_by_label(contactbook.PostRejectionReason, reason)
    _act(world, seed, lambda: world.book.moderation.reject(staff, post_id, chosen, note, version))


_DECIDE = "{reviewer} 在審核頁選擇審核結果 {result} 並送出"
_DECIDE_REJECT = "{reviewer} 在審核頁選擇審核結果 {result}、不通過原因 {reason}、說明 {note} 並送出"


@given(step_re(_DECIDE))
def decided(world: World, seed_screens: SeedScreens, reviewer: str, result: str) -> None:
    _decide_post(world, seed_screens, reviewer, result)
    _require_success(world)


@when(step_re(_DECIDE))
def decide(world: World, seed_screens: SeedScreens, reviewer: str, result: str) -> None:
    _decide_post(world, seed_screens, reviewer, result)


@when(step_re(_DECIDE_REJECT))
def decide_reject(
    world: World, seed_screens: SeedScreens, reviewer: str, result: str, reason: str, note: str
) -> None:
    _decide_post(world, seed_screens, reviewer, result, reason, note)


@when(step_re("{reviewer} 以最新版本直接審核家庭聯絡簿 {title} 為審核通過"))
def approve_without_sheet(
    world: World, seed_screens: SeedScreens, reviewer: str, title: str
) -> None:
    version = _current_version(world, title)
    _act(
        world,
        seed_screens,
        lambda: world.book.moderation.approve(_staff(world, reviewer), world.posts[title], version),
    )


_REVEAL_FIELDS = {
    "申請人": "applicant_name",
    "身分證號": "applicant_national_id",
    "Email": "applicant_email",
    "手機": "applicant_mobile",
    "收容人": "inmate_name",
}


@when(
    parsers.re(
        r'"(?P<reviewer>[^"]+)" 在家庭聯絡簿 "(?P<title>[^"]+)" 的審核頁查看完整的(?P<field>\S+)'
    )
)
def reveal(world: World, seed_screens: SeedScreens, reviewer: str, title: str, field: str) -> None:
    seed_screens.revealed = world.attempt(
        lambda: world.book.moderation.reveal(
            _staff(world, reviewer), world.posts[title], _REVEAL_FIELDS[field]
        )
    )


@then(step_re("審核頁顯示 {value}"))
def revealed_value(world: World, seed_screens: SeedScreens, value: str) -> None:
    _require_success(world)
    assert seed_screens.revealed == value


@then(
    step_re(
        "矯正署管理者查得稽核紀錄：審核人員 {reviewer} 對家庭聯絡簿 {title} 的 {action}，"
        "欄位 {field}"
    )
)
def audited(world: World, reviewer: str, title: str, action: str, field: str) -> None:
    events = world.book.audit.events(world.admin, target_id=world.posts[title]).items
    matching = [
        e
        for e in events
        if e.action == action
        and e.actor_id == _staff(world, reviewer).staff_id
        and dict(e.details).get("field") == field
    ]
    assert len(matching) == 1, [(e.action, e.actor_id, e.details) for e in events]


# -- 發佈機關聯絡簿 -----------------------------------------------------------------------


@when(step_re("{publisher} 新增機關聯絡簿："))
def publish_notice(
    world: World, seed_screens: SeedScreens, publisher: str, datatable: list[list[str]]
) -> None:
    form = _key_values(datatable)
    draft = contactbook.NoticeDraft(
        title=form["標題"],
        body=form["內容"],
        kind=_enum_by_label(contactbook.NoticeKind, form["發佈類型"]),
        audience=_audience(world, publisher, form["發佈對象"]),
        attachments=_uploads(seed_screens, _split(form["附件"])),
    )
    item = _act(
        world, seed_screens, lambda: world.book.notices.publish(_staff(world, publisher), draft)
    )
    seed_screens.page = ""
    if item is not None:
        _remember_notice(world, seed_screens, item)
        seed_screens.page = translate("page.notice_created")


@then(step_re("後臺顯示 {text}"))
def back_office_page(world: World, seed_screens: SeedScreens, text: str) -> None:
    _require_success(world)
    assert seed_screens.page == text


@when(step_re("{staff} 查詢機關聯絡簿，機關名稱 {facility}、申請日期 {start} 至 {end}"))
def query_notices(
    world: World, seed_screens: SeedScreens, staff: str, facility: str, start: str, end: str
) -> None:
    page = world.attempt(
        lambda: world.book.notices.list_admin(
            _staff(world, staff),
            facility=_facility_filter(world, facility),
            published_from=_day(start),
            published_to=_day(end),
        )
    )
    seed_screens.admin_list = list(page.items) if page is not None else []


@then("機關聯絡簿管理列表為：")
def notice_admin_table(world: World, seed_screens: SeedScreens, datatable: list[list[str]]) -> None:
    _require_success(world)
    shown = [
        {
            "矯正機關": n.facility_name,
            "發佈類型": n.kind_label,
            "發佈對象": n.to,
            "標題": n.title,
            "內文": n.body,
            "附件": SEP.join(a.filename for a in n.attachments),
            "發佈日期": n.published_on,
        }
        for n in seed_screens.admin_list
    ]
    _check_table(shown, datatable)


@then(step_re("列出的機關聯絡簿標題依序為 {titles}"))
def notice_admin_titles(world: World, seed_screens: SeedScreens, titles: str) -> None:
    _require_success(world)
    assert [n.title for n in seed_screens.admin_list] == _split(titles)


@then(step_re("機關聯絡簿 {title} 的附件依序為 {names}"))
def notice_admin_files(seed_screens: SeedScreens, title: str, names: str) -> None:
    (item,) = [n for n in seed_screens.admin_list if n.title == title]
    assert [a.filename for a in item.attachments] == _split(names)


@when(
    step_re(
        "{staff} 編輯機關聯絡簿 {title}：標題改為 {new_title}，內容改為 {body}，"
        "刪除附件 {removed}，新增附件 {added}"
    )
)
def edit_notice(
    world: World,
    seed_screens: SeedScreens,
    staff: str,
    title: str,
    new_title: str,
    body: str,
    removed: str,
    added: str,
) -> None:
    known = seed_screens.notice_items[title]
    by_name = {a.filename: a.id for a in known.attachments}
    changes = contactbook.NoticeChanges(
        title=new_title,
        body=body,
        remove_attachments=[by_name[name] for name in _split(removed)],
        add_attachments=_uploads(seed_screens, _split(added)),
    )
    item = _act(
        world,
        seed_screens,
        lambda: world.book.notices.edit(_staff(world, staff), known.id, changes, known.version),
    )
    seed_screens.page = ""
    if item is not None:
        _remember_notice(world, seed_screens, item)
        seed_screens.page = translate("page.notice_edited")


@when(step_re("{staff} 點擊機關聯絡簿 {title} 的刪除並確認刪除"))
def delete_notice(world: World, seed_screens: SeedScreens, staff: str, title: str) -> None:
    notice_id = world.notices[title]
    _act(world, seed_screens, lambda: world.book.notices.delete(_staff(world, staff), notice_id))
    seed_screens.page = translate("page.notice_deleted") if world.error is None else ""
