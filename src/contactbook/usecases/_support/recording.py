"""Writing audit events into the hash chain, inside the caller's unit of work.

:func:`record` is what every use case calls for what it did. :func:`record_refusal`
writes one failed-outcome event in a unit of work of its own — the refused use
case's has rolled back by then — for what :mod:`.use_case` audits around the
declared use cases (refused access, refused uploads, refused input). The request
origin a front end gives (``FamilyPrincipal.origin``, ``StaffPrincipal.origin`` or
:func:`requests_from`) is recorded with every event. Details never hold secrets:
ids, codes and reasons only.
"""

from __future__ import annotations

import contextlib
import logging
import unicodedata
from collections.abc import Iterator, Mapping
from contextvars import ContextVar

import attrs

from contactbook.domain.account import FamilyMember
from contactbook.domain.audit import GENESIS_HASH, AuditEvent, chain_hash
from contactbook.domain.staff import StaffMember
from contactbook.errors import ContactBookError, NotFound, PermissionDenied
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support.context import Context
from contactbook.usecases.principals import FamilyPrincipal, StaffPrincipal

__all__ = [
    "ORIGIN_MAX_CHARS",
    "Actor",
    "clean_origin",
    "current_origin",
    "is_refusal",
    "record",
    "record_refusal",
    "requests_from",
]

Actor = FamilyMember | StaffMember | None
Principal = FamilyPrincipal | StaffPrincipal

ORIGIN_MAX_CHARS = 255
"""The ``audit.origin`` column's length; longer origins are cut."""

_log = logging.getLogger(__name__)
_origin: ContextVar[str] = ContextVar("contactbook_request_origin", default="")


def _describe(actor: Actor) -> tuple[str, str | None, str, str | None]:
    if isinstance(actor, FamilyMember):
        return "family", actor.id, "family", None
    if isinstance(actor, StaffMember):
        roles = ",".join(sorted(role.value for role in actor.roles))
        return "staff", actor.id, roles, actor.facility_code
    return "anonymous", None, "", None


def clean_origin(raw: object) -> str:
    """An origin as stored: no control characters, surrounding spaces stripped, cut."""
    text = "".join(c for c in str(raw) if unicodedata.category(c)[0] != "C").strip()
    return text[:ORIGIN_MAX_CHARS]


def current_origin() -> str:
    """The origin of the request being served (empty when the front end gave none)."""
    return _origin.get()


@contextlib.contextmanager
def requests_from(origin: str) -> Iterator[None]:
    """Record ``origin`` with every audit event written inside the ``with`` block
    (for calls that take no principal: registration, login, password reset …)."""
    token = _origin.set(clean_origin(origin))
    try:
        yield
    finally:
        _origin.reset(token)


def record(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    target_kind: str,
    target_id: str | None,
    *,
    outcome: str = "success",
    facility_code: str | None = None,
    details: Mapping[str, str] | None = None,
    actor_kind: str | None = None,
) -> AuditEvent:
    """Append one event after the current last one. Never put secrets in ``details``."""
    kind, actor_id, role, actor_facility = _describe(actor)
    link = uow.audit.last_link()
    seq, prev_hash = (link[0] + 1, link[1]) if link else (1, GENESIS_HASH)
    event = AuditEvent(
        id=f"{seq:016d}",  # sorts like seq, so events of the same instant list in order
        seq=seq,
        at=ctx.now(),
        actor_kind=actor_kind or kind,
        actor_id=actor_id,
        role=role,
        facility_code=facility_code or actor_facility,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        outcome=outcome,
        origin=_origin.get(),
        details=tuple(sorted((details or {}).items())),
        prev_hash=prev_hash,
    )
    key = ctx.settings.audit_key
    if key is not None:
        event = attrs.evolve(event, key_id=key[0])
    sealed = attrs.evolve(event, hash=chain_hash(event, key[1] if key else None))
    uow.audit.append(sealed)
    return sealed


def _actor_of(uow: UnitOfWork, principal: object) -> tuple[Actor, str | None]:
    """The entity behind ``principal`` (None when unknown) and the kind to record."""
    if isinstance(principal, FamilyPrincipal):
        return uow.accounts.get(principal.account_id), "family"
    if isinstance(principal, StaffPrincipal):
        return uow.staff.get(principal.staff_id), "staff"
    return None, None


def record_refusal(
    ctx: Context,
    principal: object,
    action: str,
    target_kind: str,
    target_id: str | None,
    details: Mapping[str, str],
) -> None:
    """One failed-outcome event in a unit of work of its own (the refused call's
    unit of work has rolled back). The actor is the principal's account or staff
    member when it exists; an unknown principal is recorded by kind only."""
    with ctx.uow() as uow:
        actor, kind = _actor_of(uow, principal)
        facility = actor.facility_code if isinstance(actor, StaffMember) else None
        record(
            ctx,
            uow,
            actor,
            action,
            target_kind,
            target_id,
            outcome="failure",
            facility_code=facility,
            details=details,
            actor_kind=kind if actor is None and kind else None,
        )
        uow.commit()


def is_refusal(error: ContactBookError) -> bool:
    """Whether an access check refused: ``PermissionDenied``, or the plain ``NotFound``
    (another tenant's object, or none). Specific look-up misses (``inmate_not_found``,
    ``facility_not_found`` …) are answers, not refusals."""
    if isinstance(error, PermissionDenied):
        return True
    return isinstance(error, NotFound) and error.code == NotFound.default_code
