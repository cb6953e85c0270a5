"""Scheduled work: expiring posts nobody reviewed in time, sweeping orphan files."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import ClassVar

import attrs

from contactbook.usecases._support.context import Context
from contactbook.usecases._support.departures import expire_post
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.retention import RetentionReport, apply_retention
from contactbook.usecases._support.use_case import use_case

__all__ = ["Maintenance", "MaintenanceReport", "SweepReport"]

_HASH_CHUNK = 1024 * 1024
"""Bytes read at a time while checking a stored file's SHA-256."""

PARTIAL_GRACE = timedelta(minutes=10)
"""How long a partial upload's last write must lie back before the sweep removes
it while its writer may still run (another host, or a pid reused since)."""

FileRef = tuple[str, str, str]
"""(owner kind, owner id, storage key) of a file a row points to."""


@attrs.frozen
class MaintenanceReport:
    expired_posts: int


@attrs.frozen
class SweepReport:
    """What :meth:`Maintenance.sweep_orphan_files` found and did.

    ``removed``: stored keys no row points to, older than the grace period, now
    deleted (originals and thumbnails alike). ``missing``: (owner kind, owner id,
    key) of rows whose file (or thumbnail) is not in the store. ``corrupted``: the
    same for files whose SHA-256 no longer matches the one recorded. ``kept_recent``:
    unreferenced keys left alone because they are not older than the grace period
    (or the store cannot tell their age): a unit of work still in flight may be
    about to point to them. ``partials_removed``: temporary names of uploads whose
    writer is dead (or silent past the partial grace), now deleted;
    ``partials_kept``: those whose writer may still be writing.
    """

    removed: tuple[str, ...]
    missing: tuple[FileRef, ...]
    corrupted: tuple[FileRef, ...]
    kept_recent: int
    partials_removed: tuple[str, ...] = ()
    partials_kept: int = 0


class Maintenance:
    group: ClassVar[str] = "maintenance"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @use_case()
    def expire_overdue(self, batch: int = 500) -> MaintenanceReport:
        """Pending posts past their review deadline become 已過期; the family is told
        and the frequency slot is freed."""
        ctx = self._ctx
        total = 0
        while True:
            now = ctx.now()
            with ctx.uow() as uow:
                due = list(uow.posts.pending_due(now, limit=batch))
                for post in due:
                    expire_post(ctx, uow, post, now)
                uow.commit()
            total += len(due)
            if len(due) < batch:
                return MaintenanceReport(expired_posts=total)

    @use_case()
    def sweep_orphan_files(
        self,
        grace: timedelta = timedelta(hours=24),
        verify_hashes: bool = True,
        partial_grace: timedelta = PARTIAL_GRACE,
    ) -> SweepReport:
        """Remove stored files no row points to and partial uploads, and report rows
        whose file is gone or altered.

        Uploads are written before their unit of work commits (and removed again if
        it rolls back), so a file nobody points to *yet* may belong to a transaction
        still in flight: only files older than ``grace`` (by the store's modification
        time against the book's clock) are removed. The store is listed *before* the
        rows are read, so a file whose row commits in between is seen as referenced.

        A partial upload (``FileStore.partial_uploads``: the temporary file of a
        ``put`` killed midway) is never a key, so no row can point to it and the
        orphan grace does not apply: it goes at once when the store knows its
        writer is dead, and otherwise once its last write is ``partial_grace``
        old. A live writer keeps writing, so its file stays young; one that
        stalls longer loses its upload (its ``put`` fails), never a stored file.

        With ``verify_hashes`` every referenced file is read back (streamed, never
        whole) and its SHA-256 compared with the one recorded at upload; without it
        only existence is checked. One ``maintenance.sweep_files`` audit event
        records the counts.
        """
        ctx = self._ctx
        if grace < timedelta(0) or partial_grace < timedelta(0):
            raise ValueError("grace must not be negative")
        partials_removed, partials_kept = _discard_partial_uploads(ctx, partial_grace)
        listed: dict[str, datetime | None] = dict(ctx.files.keys())
        # (owner kind, owner id, key, sha256 or None for thumbnails): compact, and read
        # in one short unit of work; the files themselves are read after it ends.
        references: list[tuple[str, str, str, str | None]] = []
        with ctx.uow() as uow:
            for kind, owner_id, stored in uow.stored_files():
                references.append((kind, owner_id, stored.storage_key, stored.sha256))
                if stored.thumbnail_key is not None:
                    references.append((kind, owner_id, stored.thumbnail_key, None))
        referenced = {key for _, _, key, _ in references}

        now = ctx.now()
        removed: list[str] = []
        kept_recent = 0
        for key in sorted(listed.keys() - referenced):
            modified = listed[key]
            if modified is None or now - modified < grace:
                kept_recent += 1
                continue
            ctx.files.delete(key)
            removed.append(key)

        missing: list[FileRef] = []
        corrupted: list[FileRef] = []
        for owner_kind, owner_id, key, sha256 in references:
            ref = (owner_kind, owner_id, key)
            if sha256 is None or not verify_hashes:
                if key not in listed and not ctx.files.exists(key):
                    missing.append(ref)
                continue
            digest = _sha256_of(ctx, key)
            if digest is None:
                missing.append(ref)
            elif digest != sha256:
                corrupted.append(ref)

        report = SweepReport(
            removed=tuple(removed),
            missing=tuple(missing),
            corrupted=tuple(corrupted),
            kept_recent=kept_recent,
            partials_removed=partials_removed,
            partials_kept=partials_kept,
        )
        with ctx.uow() as uow:
            record(
                ctx,
                uow,
                None,
                "maintenance.sweep_files",
                "files",
                None,
                actor_kind="system",
                details={
                    "removed": str(len(report.removed)),
                    "missing": str(len(report.missing)),
                    "corrupted": str(len(report.corrupted)),
                    "kept_recent": str(report.kept_recent),
                    "partials_removed": str(len(report.partials_removed)),
                    "partials_kept": str(report.partials_kept),
                    "checked": str(len(references)),
                    "hashes_verified": "yes" if verify_hashes else "no",
                },
            )
            uow.commit()
        return report

    @use_case()
    def apply_retention(self, batch: int = 500) -> RetentionReport:
        """Delete posts, files, messages and closed accounts past their retention
        periods (``Settings.retain_*``; see :mod:`contactbook.usecases._support.retention`)."""
        return apply_retention(self._ctx, batch)


def _discard_partial_uploads(ctx: Context, grace: timedelta) -> tuple[tuple[str, ...], int]:
    """Remove partial uploads whose writer is dead or silent for ``grace``:
    (names removed, number kept)."""
    now = ctx.now()
    removed: list[str] = []
    kept = 0
    for partial in list(ctx.files.partial_uploads()):  # listed whole before deleting
        stale = partial.modified is not None and now - partial.modified >= grace
        if partial.writer_alive is False or stale:
            ctx.files.discard_partial(partial.name)
            removed.append(partial.name)
        else:
            kept += 1
    return tuple(sorted(removed)), kept


def _sha256_of(ctx: Context, key: str) -> str | None:
    """The SHA-256 of the stored file ``key``, read in chunks; None if it is missing."""
    digest = hashlib.sha256()
    try:
        stream = ctx.files.open(key)
    except FileNotFoundError:
        return None
    with stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
