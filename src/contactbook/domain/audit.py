"""Audit events: who did what to which object, when, from where; hash-chained."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import attrs

__all__ = ["GENESIS_HASH", "AuditEvent", "chain_hash"]

GENESIS_HASH = "0" * 64


@attrs.frozen
class AuditEvent:
    id: str
    seq: int
    at: datetime
    actor_kind: str  # family | staff | system | anonymous
    actor_id: str | None
    action: str
    target_kind: str
    target_id: str | None
    outcome: str = "success"
    role: str = ""
    facility_code: str | None = None
    origin: str = ""
    details: tuple[tuple[str, str], ...] = ()
    prev_hash: str = GENESIS_HASH
    hash: str = ""


def chain_hash(event: AuditEvent) -> str:
    """SHA-256 over the previous hash and every field but the hash itself."""
    payload = attrs.asdict(event, recurse=False)
    payload.pop("hash")
    payload["at"] = event.at.isoformat()
    payload["details"] = [list(pair) for pair in event.details]
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()
