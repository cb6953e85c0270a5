"""Agency notices: round trip, the admin list, what a family may read (by
audience and by month in Taiwan time) and the cards of the family page."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime

import attrs

from contactbook.domain.notice import AgencyNotice, Audience
from contactbook.ports.reads import After, FamilyNoticeFilter, NoticeCardRow
from contactbook.ports.storage import Storage, UnitOfWork
from contactbook.testing.storage.builders import (
    AGENCY_STAFF,
    FACILITY,
    INMATE,
    OTHER_FACILITY,
    OTHER_INMATE,
    at,
    make_notice,
    make_stored_file,
    seed,
)
from contactbook.testing.storage.checks import (
    ASCENDING,
    DESCENDING,
    assert_every_field_set,
    ids,
    numbered,
    seven,
    walk,
)
from contactbook.testing.storage.fixtures import StorageFixtures
from contactbook.testing.storage.rules import (
    Kind,
    Rule,
    each_shared_rule,
    round_trip,
)

__all__ = ["NoticesContract"]


def _published(notice: AgencyNotice | NoticeCardRow) -> tuple[datetime, str]:
    return notice.published_at, notice.id


def _family_cards(
    uow: UnitOfWork,
    after: After,
    limit: int,
    *,
    facilities: frozenset[str],
    inmates: frozenset[str],
    month: str | None,
) -> Sequence[NoticeCardRow]:
    return uow.notices.family_cards(
        FamilyNoticeFilter(facilities, inmates, month), after=after, limit=limit
    )


_NOTICES_KIND = Kind(
    "notices",
    make=lambda: make_notice("notice-new"),
    same_key=lambda notice: attrs.evolve(notice, title="另一則公告"),
    changed=lambda notice: notice.deleted(at(1)),
)


class NoticesContract(StorageFixtures):
    """The ``notices`` repository and its lists.

    Fixtures: ``world`` (seeded from your ``storage``).
    """

    # --- Round trip, unique rules and compare-and-set ---------------------------------

    def test_notice_round_trip(self, world: Storage) -> None:
        full = make_notice(
            "notice-full",
            audience=Audience.inmate(FACILITY, INMATE),
            attachments=(
                make_stored_file("notice-full-1", display_name="報名表.pdf"),
                make_stored_file("notice-full-2", display_name="交通資訊.png"),
                make_stored_file("notice-full-3", display_name="注意事項.pdf"),
            ),
            updated_at=at(1),
            deleted_at=at(2),
            version=3,
        )
        assert_every_field_set(full)
        agency = make_notice(
            "notice-agency",
            publisher_facility=None,
            publisher_name="法務部矯正署",
            author_id=AGENCY_STAFF,
            audience=Audience.everyone(),
        )
        round_trip(world, _NOTICES_KIND, full, agency)

    @each_shared_rule(_NOTICES_KIND)
    def test_notices_shared_rules(self, world: Storage, rule: Rule, kind: Kind) -> None:
        rule(world, kind)

    # --- Lists ------------------------------------------------------------------------

    def test_admin_notice_list_newest_first_by_publisher(self, world: Storage) -> None:
        seed(
            world,
            *seven(lambda n, when: make_notice(f"notice-{n}", published_at=when)),
            make_notice("notice-deleted", published_at=at(1), deleted_at=at(4)),
            make_notice(
                "notice-elsewhere",
                publisher_facility=OTHER_FACILITY,
                publisher_name="南區示範看守所",
                audience=Audience.facility(OTHER_FACILITY),
                published_at=at(1),
            ),
            make_notice(
                "notice-agency",
                publisher_facility=None,
                publisher_name="法務部矯正署",
                author_id=AGENCY_STAFF,
                audience=Audience.everyone(),
                published_at=at(1),
            ),
        )
        with world.unit_of_work() as uow:
            here = walk(
                lambda after, limit: uow.notices.list_admin(
                    facility_codes=frozenset({FACILITY}),
                    published_from=None,
                    published_to=None,
                    after=after,
                    limit=limit,
                ),
                _published,
            )
            everything = walk(
                lambda after, limit: uow.notices.list_admin(
                    facility_codes=None,
                    published_from=None,
                    published_to=None,
                    after=after,
                    limit=limit,
                ),
                _published,
            )
            window = walk(
                lambda after, limit: uow.notices.list_admin(
                    facility_codes=frozenset({FACILITY}),
                    published_from=at(0.5),
                    published_to=at(2.5),
                    after=after,
                    limit=limit,
                ),
                _published,
            )
        assert ids(here) == numbered("notice", DESCENDING)
        assert ids(everything) == [
            *numbered("notice", range(7, 2, -1)),
            "notice-elsewhere",
            "notice-agency",
            "notice-2",
            "notice-1",
        ]
        assert ids(window) == numbered("notice", range(5, 1, -1))

    def test_family_notice_list_by_audience_newest_first(self, world: Storage) -> None:
        audiences = {
            1: Audience.everyone(),
            2: Audience.facility(FACILITY),
            3: Audience.inmate(FACILITY, INMATE),
        }

        def readable(n: int, when: datetime) -> AgencyNotice:
            return make_notice(f"notice-{n}", audience=audiences[n % 3 + 1], published_at=when)

        seed(
            world,
            *seven(readable),
            make_notice("notice-deleted", audience=Audience.everyone(), deleted_at=at(4)),
            make_notice(
                "notice-other-facility",
                publisher_facility=OTHER_FACILITY,
                publisher_name="南區示範看守所",
                audience=Audience.facility(OTHER_FACILITY),
            ),
            make_notice(
                "notice-other-inmate",
                publisher_facility=OTHER_FACILITY,
                publisher_name="南區示範看守所",
                audience=Audience.inmate(OTHER_FACILITY, OTHER_INMATE),
            ),
        )
        with world.unit_of_work() as uow:
            mine = walk(
                lambda after, limit: uow.notices.family_cards(
                    FamilyNoticeFilter(frozenset({FACILITY}), frozenset({INMATE})),
                    after=after,
                    limit=limit,
                ),
                _published,
            )
            others = uow.notices.family_cards(
                FamilyNoticeFilter(frozenset({OTHER_FACILITY}), frozenset({OTHER_INMATE})),
                after=None,
                limit=50,
            )
            nobody = uow.notices.family_cards(FamilyNoticeFilter(), after=None, limit=50)
        assert ids(mine) == numbered("notice", DESCENDING)
        assert set(ids(others)) == {
            "notice-other-facility",
            "notice-other-inmate",
            *(f"notice-{n}" for n in ASCENDING if n % 3 + 1 == 1),  # to everyone
        }
        assert set(ids(nobody)) == {f"notice-{n}" for n in ASCENDING if n % 3 + 1 == 1}

    def test_family_notices_by_month_in_taiwan_time(self, world: Storage) -> None:
        last_minute_of_march = datetime(2024, 3, 31, 15, 59, tzinfo=UTC)  # 23:59 in Taipei
        first_minute_of_april = datetime(2024, 3, 31, 16, 0, tzinfo=UTC)  # 00:00 in Taipei
        seed(
            world,
            make_notice("notice-january", published_at=datetime(2024, 1, 10, 2, tzinfo=UTC)),
            make_notice("notice-march", published_at=last_minute_of_march),
            make_notice("notice-march-2", published_at=datetime(2024, 3, 1, 2, tzinfo=UTC)),
            make_notice("notice-april", published_at=first_minute_of_april),
            make_notice(
                "notice-deleted-may",
                published_at=datetime(2024, 5, 2, tzinfo=UTC),
                deleted_at=datetime(2024, 5, 3, tzinfo=UTC),
            ),
            make_notice(
                "notice-february-elsewhere",
                publisher_facility=OTHER_FACILITY,
                audience=Audience.facility(OTHER_FACILITY),
                published_at=datetime(2024, 2, 10, tzinfo=UTC),
            ),
        )
        facilities, inmates = frozenset({FACILITY}), frozenset({INMATE})
        with world.unit_of_work() as uow:

            def in_month(month: str) -> list[str]:
                return ids(
                    uow.notices.family_cards(
                        FamilyNoticeFilter(facilities, inmates, month), after=None, limit=50
                    )
                )

            months = uow.notices.months_for_family(facility_codes=facilities, inmate_ids=inmates)
            march, april, may = in_month("2024-03"), in_month("2024-04"), in_month("2024-05")
        assert list(months) == ["2024-04", "2024-03", "2024-01"]
        assert march == ["notice-march", "notice-march-2"]
        assert april == ["notice-april"]
        assert may == []

    def test_family_cards_show_the_notices_of_the_family_list(self, world: Storage) -> None:
        """The cards are the notices a family may read, page by page, with each card's
        fields read from its notice."""
        photo = make_stored_file("notice-3-photo", content_type="image/png")
        seed(
            world,
            *seven(
                lambda n, when: make_notice(
                    f"notice-{n}",
                    audience=(Audience.everyone(), Audience.facility(FACILITY))[n % 2],
                    published_at=when,
                    attachments=(photo,) if n == 3 else (),
                )
            ),
            make_notice("notice-april", published_at=datetime(2024, 3, 31, 16, 0, tzinfo=UTC)),
            make_notice("notice-deleted", deleted_at=at(4)),
            make_notice(
                "notice-other-inmate",
                publisher_facility=OTHER_FACILITY,
                publisher_name="南區示範看守所",
                audience=Audience.inmate(OTHER_FACILITY, OTHER_INMATE),
            ),
        )
        march = set(numbered("notice", ASCENDING))
        scopes = [
            (frozenset({FACILITY}), frozenset({INMATE}), None, {*march, "notice-april"}),
            (frozenset({FACILITY}), frozenset({INMATE}), "2024-03", march),
            (
                frozenset({FACILITY, OTHER_FACILITY}),
                frozenset({INMATE, OTHER_INMATE}),
                None,
                {*march, "notice-april", "notice-other-inmate"},
            ),
            (frozenset(), frozenset(), None, {"notice-2", "notice-4", "notice-6"}),  # everyone
        ]
        with world.unit_of_work() as uow:
            for facilities, inmates, month, expected in scopes:
                cards = walk(
                    functools.partial(
                        _family_cards, uow, facilities=facilities, inmates=inmates, month=month
                    ),
                    lambda card: (card.published_at, card.id),
                )
                notice_ids = [card.id for card in cards]
                assert set(notice_ids) == expected, (facilities, inmates, month)
                notices = [uow.notices.get(notice_id) for notice_id in notice_ids]
                assert cards == [
                    NoticeCardRow(
                        id=notice.id,
                        published_at=notice.published_at,
                        published_month=notice.published_month,
                        title=notice.title,
                        publisher_name=notice.publisher_name,
                        body=notice.body,
                        attachments=notice.attachments,
                    )
                    for notice in notices
                    if notice is not None
                ], (facilities, inmates, month)
                assert len(notices) == len(set(notice_ids)), (facilities, inmates, month)
            march_cards = uow.notices.family_cards(
                FamilyNoticeFilter(frozenset({FACILITY}), month="2024-03"), after=None, limit=50
            )
        assert [card.id for card in march_cards] == numbered("notice", DESCENDING)
        assert [card.attachments for card in march_cards if card.id == "notice-3"] == [(photo,)]
        assert {card.published_month for card in march_cards} == {"2024-03"}
