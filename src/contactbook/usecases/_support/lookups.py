"""The inmates and facilities a page of rows refers to, fetched once per page.

Building each row's view with its own look-ups made a 50-row page cost about
a hundred extra queries; a page now costs one query for its inmates and one
per facility it names.
"""

from __future__ import annotations

from collections.abc import Iterable

from contactbook.domain.facility import Facility
from contactbook.domain.inmate import Inmate
from contactbook.ports.storage import UnitOfWork

__all__ = ["Lookups"]


class Lookups:
    def __init__(self, uow: UnitOfWork, inmate_ids: Iterable[str] = ()) -> None:
        self._uow = uow
        self._inmates = dict(uow.inmates.get_many(list(inmate_ids)))
        self._facilities: dict[str, Facility | None] = {}

    def inmate(self, inmate_id: str) -> Inmate | None:
        if inmate_id not in self._inmates:
            found = self._uow.inmates.get(inmate_id)
            if found is None:
                return None
            self._inmates[inmate_id] = found
        return self._inmates[inmate_id]

    def facility(self, code: str) -> Facility | None:
        if code not in self._facilities:
            self._facilities[code] = self._uow.facilities.get(code)
        return self._facilities[code]
