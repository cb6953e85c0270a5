"""zh-TW first, English second: the page texts and the labels of the library's enums.

Templates write both languages side by side, ``t("家庭聯絡簿", "Family contact book")``,
so a page reads as the seed's screens do. The enum labels below repeat the
library's catalog only because it has no public ``label(value, locale)`` yet.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

__all__ = ["LANGS", "Translator", "label", "label_text", "translator"]

LANGS = ("zh_TW", "en")

Translator = Callable[[str, str], str]

_LABELS: dict[str, tuple[str, str]] = {
    "PostStatus.pending": ("待審核", "Pending review"),
    "PostStatus.approved": ("審核通過", "Approved"),
    "PostStatus.rejected": ("審核未通過", "Not approved"),
    "PostStatus.expired": ("已過期", "Expired"),
    "PostStatus.withdrawn": ("已撤回", "Withdrawn"),
    "ApplicationStatus.pending": ("未審核", "Not reviewed"),
    "ApplicationStatus.approved": ("審核通過", "Approved"),
    "ApplicationStatus.rejected": ("審核未通過", "Not approved"),
    "Relationship.spouse": ("配偶", "Spouse"),
    "Relationship.parent": ("父母", "Parent"),
    "Relationship.child": ("子女", "Child"),
    "Relationship.sibling": ("兄弟姊妹", "Sibling"),
    "Relationship.grandparent": ("祖父母", "Grandparent"),
    "Relationship.grandchild": ("孫子女", "Grandchild"),
    "Relationship.relative": ("親戚", "Relative"),
    "Relationship.friend": ("朋友", "Friend"),
    "Relationship.other": ("其他", "Other"),
    "Service.onsite_visit": ("預約現場接見", "On-site visit booking"),
    "Service.remote_visit": ("預約遠距接見", "Remote visit booking"),
    "Service.mobile_visit": ("預約行動接見", "Mobile visit booking"),
    "Service.contact_book": ("家庭聯絡簿", "Family contact book"),
    "PostRejectionReason.unrelated_content": (
        "內容非關懷子女或支持家庭",
        "Not about caring for children or supporting the family",
    ),
    "PostRejectionReason.official_business": (
        "涉及公務申辦（如接見申請、在監證明、喪假）",
        "Official business (visits, certificates, leave)",
    ),
    "PostRejectionReason.inappropriate": ("內容不當", "Inappropriate content"),
    "PostRejectionReason.attachment_unsuitable": ("附件不符規定", "Unsuitable attachment"),
    "PostRejectionReason.other": ("其他", "Other"),
    "ApplicationRejectionReason.evidence_unclear": ("佐證資料不清晰", "Evidence unclear"),
    "ApplicationRejectionReason.relationship_unproven": (
        "無法證明與收容人關係",
        "Relationship not proven",
    ),
    "ApplicationRejectionReason.not_eligible": ("不符申請資格", "Not eligible"),
    "ApplicationRejectionReason.photo_unsuitable": ("照片不符規定", "Unsuitable photo"),
    "ApplicationRejectionReason.other": ("其他", "Other"),
    "NoticeKind.announcement": ("公告", "Announcement"),
    "Channel.email": ("電子郵件", "E-mail"),
    "Channel.sms": ("簡訊", "SMS"),
    "Role.reviewer": ("審核人員", "Reviewer"),
    "Role.publisher": ("發佈人員", "Publisher"),
    "Role.admin": ("系統管理者", "Administrator"),
}


def label(value: enum.Enum, lang: str) -> str:
    """The label of an enum member of contactbook in ``lang``."""
    zh, en = _LABELS.get(f"{type(value).__name__}.{value.value}", (str(value.value),) * 2)
    return en if lang == "en" else zh


_EN_BY_ZH = {zh: en for zh, en in _LABELS.values()}


def label_text(text: str, lang: str) -> str:
    """A zh-TW label the library handed back (``審核通過``, ``子女、家庭聯絡簿``) in ``lang``."""
    if lang != "en":
        return text
    return ", ".join(_EN_BY_ZH.get(part, part) for part in text.split("、"))


def translator(lang: str) -> Translator:
    """``t(zh, en)``: the text for ``lang``."""

    def t(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    return t
