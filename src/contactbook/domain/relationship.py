"""Relationships between a family member and an inmate, and the services offered."""

from __future__ import annotations

import enum

__all__ = ["Relationship", "Service"]


class Relationship(enum.StrEnum):
    SPOUSE = "spouse"  # 配偶
    PARENT = "parent"  # 父母
    CHILD = "child"  # 子女
    SIBLING = "sibling"  # 兄弟姊妹
    GRANDPARENT = "grandparent"  # 祖父母
    GRANDCHILD = "grandchild"  # 孫子女
    RELATIVE = "relative"  # 親戚 (with kinship degree)
    FRIEND = "friend"  # 朋友
    OTHER = "other"  # 其他

    def kinship_degree(self, stated: int | None) -> int | None:
        """Degree of kinship (親等) under the Civil Code; None for non-relatives."""
        fixed = {
            Relationship.SPOUSE: 0,
            Relationship.PARENT: 1,
            Relationship.CHILD: 1,
            Relationship.SIBLING: 2,
            Relationship.GRANDPARENT: 2,
            Relationship.GRANDCHILD: 2,
        }
        if self in fixed:
            return fixed[self]
        if self is Relationship.RELATIVE:
            return stated
        return None


class Service(enum.StrEnum):
    ONSITE_VISIT = "onsite_visit"  # 預約現場接見
    REMOTE_VISIT = "remote_visit"  # 預約遠距接見
    MOBILE_VISIT = "mobile_visit"  # 預約行動接見
    CONTACT_BOOK = "contact_book"  # 家庭聯絡簿
