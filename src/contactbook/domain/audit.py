"""Audit events: who did what to which object, when, from where; hash-chained.

Each event's hash covers the previous event's hash and its own fields. Unkeyed, the
hash is SHA-256: it shows edits by someone who does not recompute the chain, and
nothing more — anyone with write access can rewrite the events after a change and
recompute every hash. Keyed, it is HMAC-SHA-256 with a deployment key kept out of
the database (``Settings.audit_keys``): rewriting the chain then needs the key.
An event names the key that sealed it (``key_id``), so keys can be rotated.
"""

from __future__ import annotations

import hashlib
import hmac
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
    key_id: str = ""
    """The deployment key that sealed the event; empty for an unkeyed (SHA-256) event."""


def chain_hash(event: AuditEvent, key: bytes | None = None) -> str:
    """The hash over the previous hash and every field but the hash itself:
    HMAC-SHA-256 with ``key`` when given (the event then names its ``key_id``),
    plain SHA-256 otherwise. An unkeyed event's payload has no ``key_id`` at all, so
    events sealed before keys existed verify as they always did."""
    payload = attrs.asdict(event, recurse=False)
    payload.pop("hash")
    if not event.key_id:
        payload.pop("key_id")
    payload["at"] = event.at.isoformat()
    payload["details"] = [list(pair) for pair in event.details]
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    if key is None:
        return hashlib.sha256(data.encode("utf-8")).hexdigest()
    return hmac.new(key, data.encode("utf-8"), hashlib.sha256).hexdigest()
