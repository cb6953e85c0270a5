"""Bad input never escapes as anything but a ``ContactBookError``, on every backend.

Derived from the type hints, not from a list kept by hand: every public use case of
every group is called once per parameter with ``None``, with a value of the wrong
type and — for text — with control characters (NUL, ESC, DEL, a C1 control, a lone
surrogate) in it, the other parameters holding plausible values of their types (the
world's own principals: the family owner for family use cases, the Agency
administrator, who holds every role, for staff ones). The fields of the input forms
are swept the same way. Whatever a call answers, only ``ContactBookError``
subclasses may escape; text with control characters is refused as
``text_control_characters`` naming the field, and never reaches the database
(PostgreSQL refuses NUL in text with a driver error: a 500 in a web front end).
"""

from __future__ import annotations

import enum
import inspect
import types
import typing
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any, BinaryIO

import attrs
import pytest

import contactbook
from contactbook.errors import ContactBookError, ValidationError
from tests.security.test_authorization_matrix import STAFF_PASSWORD, World, build_world

BACKENDS = ["memory", "sqlite", "postgresql", "mariadb"]
CONTROL_TEXTS = {
    "nul": "0609\x00",
    "escape": "\x1b[31m紅字",
    "delete": "abc\x7f",
    "c1": "abc\x85def",
    "surrogate": "abc\ud800",
}


_BOOK_FOR_HINTS = contactbook.open(database="memory://", files="memory://", mail="memory://")


def _use_cases() -> list[str]:
    return [
        f"{group}.{name}"
        for group, owner in vars(_BOOK_FOR_HINTS).items()
        if group != "context"
        for name, _ in inspect.getmembers(type(owner), inspect.isfunction)
        if not name.startswith("_")
    ]


USE_CASES = _use_cases()


def _takes_text(use_case: str) -> bool:
    group, name = use_case.split(".")
    function = getattr(type(getattr(_BOOK_FOR_HINTS, group)), name)
    hints = typing.get_type_hints(function)
    return any(
        _is_text(hint) or (isinstance(hint, type) and attrs.has(hint) and not _is_principal(hint))
        for parameter, hint in hints.items()
        if parameter != "return"
    )


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    backend = str(request.param)
    if backend == "memory":
        built = build_world()
    else:
        database = request.getfixturevalue("make_database_url")(backend)
        files = str(tmp_path_factory.mktemp("files"))
        built = build_world(database, files)
    yield built
    built.book.close()


def _hints(world: World, use_case: str) -> tuple[Callable[..., Any], list[tuple[str, Any]]]:
    group, name = use_case.split(".")
    owner = getattr(world.book, group)
    function = getattr(type(owner), name)
    hints = typing.get_type_hints(function)
    parameters = list(inspect.signature(function).parameters)[1:]
    return getattr(owner, name), [(p, hints.get(p, Any)) for p in parameters]


def _plausible(world: World, hint: Any) -> Any:
    """A value of ``hint``'s type that a use case can work with (or refuse cleanly)."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        members = [m for m in typing.get_args(hint) if m is not type(None)]
        return _plausible(world, members[0])
    if origin is not None:
        if issubclass(origin, typing.Mapping):  # type: ignore[arg-type]
            return {}
        (item,) = typing.get_args(hint)[:1] or (Any,)
        values = [_plausible(world, item)]
        return frozenset(values) if origin is frozenset else values
    if hint is contactbook.FamilyPrincipal:
        return world.principals["owner.family"]
    if hint is contactbook.StaffPrincipal:
        return world.principals["agency"]
    if hint is str:
        return "0609"
    if hint is bool:
        return False
    if hint is int:
        return 1
    if hint is date:
        return date(2020, 10, 7)
    if hint is timedelta:
        return timedelta(days=1)
    if hint is BinaryIO:
        import io

        return io.BytesIO(b"x")
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return next(iter(hint))
    if isinstance(hint, type) and attrs.has(hint):
        fields = typing.get_type_hints(hint)
        return hint(
            **{
                f.name: _plausible(world, fields[f.name])
                for f in attrs.fields(hint)
                if f.default is attrs.NOTHING
            }
        )
    return None


def _wrong_type(hint: Any) -> Any:
    """A value no parameter annotated ``hint`` accepts."""
    return b"bytes" if hint is str else 3.25


def _is_text(hint: Any) -> bool:
    if hint is str:
        return True
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return any(_is_text(m) for m in typing.get_args(hint))
    return False


def _accepts_none(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    return (origin is typing.Union or origin is types.UnionType) and type(None) in typing.get_args(
        hint
    )


def _is_principal(hint: Any) -> bool:
    return hint in (contactbook.FamilyPrincipal, contactbook.StaffPrincipal)


def _call(function: Callable[..., Any], arguments: dict[str, Any]) -> ContactBookError | None:
    """Call with ``arguments``; the ``ContactBookError`` it raised, if any. Anything
    else escapes and fails the test."""
    try:
        function(**arguments)
    except ContactBookError as error:
        return error
    return None


def _variants(
    world: World, parameters: list[tuple[str, Any]]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(description, arguments) with one parameter — or one form field — made bad."""
    plausible = {name: _plausible(world, hint) for name, hint in parameters}
    for name, hint in parameters:
        if _is_principal(hint):
            continue  # a principal that is not one is nobody: the matrix covers it
        yield f"{name}=None", {**plausible, name: None}
        yield f"{name}=wrong type", {**plausible, name: _wrong_type(hint)}
        if isinstance(hint, type) and attrs.has(hint):
            fields = typing.get_type_hints(hint)
            for field in attrs.fields(hint):
                form = plausible[name]
                field_hint = fields[field.name]
                if not _accepts_none(field_hint):
                    bad = attrs.evolve(form, **{field.name: None})
                    yield f"{name}.{field.name}=None", {**plausible, name: bad}


def test_the_sweep_covers_every_use_case() -> None:
    assert len(USE_CASES) > 60
    assert "moderation.reject" in USE_CASES and "staff.authenticate" in USE_CASES


@pytest.mark.parametrize("use_case", USE_CASES)
def test_none_and_wrong_types_answer_as_contactbook_errors(world: World, use_case: str) -> None:
    function, parameters = _hints(world, use_case)
    for description, arguments in _variants(world, parameters):
        error = _call(function, arguments)
        name = description.split("=")[0]
        if (
            description.endswith("=None")
            and "." not in name
            and not _accepts_none(dict(parameters).get(name))
        ):
            assert isinstance(error, ValidationError), f"{use_case}({description}): {error!r}"
            assert error.fields == {name: "invalid_type"}, f"{use_case}({description})"
        if description.endswith("wrong type"):
            assert isinstance(error, ValidationError), f"{use_case}({description}): {error!r}"
            assert error.code == "invalid_type"


@pytest.mark.parametrize("use_case", [u for u in USE_CASES if _takes_text(u)])
def test_control_characters_in_any_text_are_refused_naming_the_field(
    world: World, use_case: str
) -> None:
    function, parameters = _hints(world, use_case)
    plausible = {name: _plausible(world, hint) for name, hint in parameters}
    swept = 0
    for name, hint in parameters:
        targets: list[tuple[str, Callable[[str], Any]]] = []
        if _is_text(hint):
            targets.append((name, lambda text, name=name: text))
        elif isinstance(hint, type) and attrs.has(hint) and not _is_principal(hint):
            fields = typing.get_type_hints(hint)
            for field in attrs.fields(hint):
                if _is_text(fields[field.name]):
                    targets.append(
                        (
                            field.name,
                            lambda text, form=plausible[name], field=field.name: attrs.evolve(
                                form, **{field: text}
                            ),
                        )
                    )
        for field_path, make in targets:
            for kind, text in CONTROL_TEXTS.items():
                error = _call(function, {**plausible, name: make(text)})
                where = f"{use_case} {field_path} {kind}"
                assert isinstance(error, ValidationError), f"{where}: {error!r}"
                assert error.code == "text_control_characters", where
                assert error.fields == {field_path: "text_control_characters"}, where
                swept += 1
    assert swept, f"{use_case} takes text, yet nothing was swept"


def test_a_staff_login_with_a_nul_byte_is_refused_and_audited(world: World) -> None:
    book = world.book
    with pytest.raises(ValidationError) as caught:
        book.staff.authenticate("agency.admin\x00", STAFF_PASSWORD)
    assert caught.value.fields == {"username": "text_control_characters"}
    with pytest.raises(ValidationError):
        book.accounts.authenticate("ty.wang@example.com", "family\x00passphrase")
    with book.storage.unit_of_work() as uow:
        refused = [e for e in uow.audit.in_order() if e.action == "input.rejected"]
    details = [dict(e.details) for e in refused[-2:]]
    assert details == [
        {"use_case": "staff.authenticate", "code": "text_control_characters", "fields": "username"},
        {
            "use_case": "accounts.authenticate",
            "code": "text_control_characters",
            "fields": "password",
        },
    ]
    assert all(e.outcome == "failure" for e in refused[-2:])


def test_a_rejection_note_of_none_is_a_validation_error_not_an_attribute_error(
    world: World,
) -> None:
    book = world.book
    staff = world.principals["klp.full"]
    with pytest.raises(ValidationError) as caught:
        book.moderation.reject(
            staff,
            world.ids["post"],
            contactbook.PostRejectionReason.OTHER,
            None,
            1,  # type: ignore[arg-type]
        )
    assert caught.value.fields == {"note": "invalid_type"}


# -- staff free text follows the rules of family text (finding 5) --------------------------


@pytest.mark.parametrize(
    ("note", "code"),
    [
        ("\u202e退件原因", "text_control_characters"),  # a bidi override (Trojan Source)
        ("請\x1b[2J重寫", "text_control_characters"),  # an ESC sequence
        ("x" * 501, "text_too_long"),
    ],
)
def test_rejection_notes_follow_the_text_rules(world: World, note: str, code: str) -> None:
    book = world.book
    staff = world.principals["klp.full"]
    other = contactbook.PostRejectionReason.OTHER
    with pytest.raises(ValidationError) as caught:
        book.moderation.reject(staff, world.ids["post"], other, note, 1)
    assert (caught.value.code, caught.value.fields) == (code, {"note": code})
    with pytest.raises(ValidationError) as caught:
        book.applications.reject(
            staff,
            world.ids["pending_application"],
            contactbook.ApplicationRejectionReason.OTHER,
            note,
            world.versions["pending_application"],
        )
    assert (caught.value.code, caught.value.fields) == (code, {"note": code})


def test_a_note_of_spaces_is_no_note_for_the_other_reason(world: World) -> None:
    staff = world.principals["klp.full"]
    with pytest.raises(ValidationError) as caught:
        world.book.moderation.reject(
            staff, world.ids["post"], contactbook.PostRejectionReason.OTHER, " \t\n ", 1
        )
    assert caught.value.fields == {"note": "rejection_note_required"}


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("陳\u202e審核", "text_control_characters"),
        ("陳\x1b]0;審核", "text_control_characters"),
        ("陳\n審核", "text_control_characters"),  # a name is one line
        ("陳" * 51, "text_too_long"),
        ("   ", "text_required"),
    ],
)
def test_staff_names_follow_the_text_rules(world: World, name: str, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        world.book.staff.create(
            world.principals["agency"],
            "klp.new-member",
            name,
            STAFF_PASSWORD,
            "KLP",
            [contactbook.Role.REVIEWER],
        )
    assert (caught.value.code, caught.value.fields) == (code, {"name": code})


@pytest.mark.parametrize(
    ("code", "name", "field", "problem"),
    [
        ("K" * 33, "新機關", "code", "text_too_long"),
        ("NEW", "新\n機關", "name", "text_control_characters"),
        ("NEW", "新" * 101, "name", "text_too_long"),
    ],
)
def test_facility_codes_and_names_follow_the_text_rules(
    world: World, code: str, name: str, field: str, problem: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        world.book.facilities.add(world.principals["agency"], code, name)
    assert caught.value.fields == {field: problem}


def test_roster_rows_with_bad_text_are_refused_line_by_line(world: World) -> None:
    report = world.book.inmates.import_roster(
        world.principals["agency"],
        [
            {"call_number": "0701", "name": "王\t大明"},
            {"call_number": "0702", "name": "王大明", "gender": "男" * 17},
            {"call_number": "0703", "name": "王大明", "custody_type": "\u202e受刑人"},
            {"call_number": "0704", "name": "王大明", "gender": "男"},
        ],
        facility_code="KLP",
    )
    assert report.rejected == (
        (1, "text_control_characters"),
        (2, "text_too_long"),
        (3, "text_control_characters"),
    )


def test_a_nul_anywhere_in_a_roster_refuses_the_import_naming_the_row(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        world.book.inmates.import_roster(
            world.principals["agency"],
            [{"call_number": "0705", "name": "王大明"}, {"call_number": "0706\x00", "name": "李"}],
            facility_code="KLP",
        )
    assert caught.value.fields == {"rows[1].call_number": "text_control_characters"}


def test_text_as_a_browser_sends_it_passes_with_its_line_breaks() -> None:
    """A textarea's lines arrive as CRLF, and a tab may be pasted in: both pass the
    argument check, and the text rules store LF. (A world of its own: the sweeps
    above may have closed the owner's account.)"""
    world = build_world()
    book = world.book
    notice = book.notices.publish(
        world.principals["klp.full"],
        contactbook.NoticeDraft(title="懇親活動", body="第一行\r\n第二行\t（下午）\r\n"),
    )
    shown = book.notices.get_for_family(world.principals["owner.family"], notice.id)
    assert shown.body == "第一行\n第二行\t（下午）"
    book.close()
