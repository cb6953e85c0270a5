"""Writing audit events into the hash chain, inside the caller's unit of work."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from contactbook.domain.account import FamilyMember
from contactbook.domain.audit import GENESIS_HASH, AuditEvent, chain_hash
from contactbook.domain.staff import StaffMember
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases.context import Context

__all__ = ["Actor", "record"]

Actor = FamilyMember | StaffMember | None


def _describe(actor: Actor) -> tuple[str, str | None, str, str | None]:
    if isinstance(actor, FamilyMember):
        return "family", actor.id, "family", None
    if isinstance(actor, StaffMember):
        roles = ",".join(sorted(role.value for role in actor.roles))
        return "staff", actor.id, roles, actor.facility_code
    return "anonymous", None, "", None


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
    last = uow.audit.last()
    seq = (last.seq + 1) if last else 1
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
        details=tuple(sorted((details or {}).items())),
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    sealed = attrs.evolve(event, hash=chain_hash(event))
    uow.audit.append(sealed)
    return sealed
