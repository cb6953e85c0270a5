"""The read models use cases return, for type hints in front ends.

Views carry enum values for programs and zh-TW labels for people; ``label``
gives the text of any enum value in either language.
"""

from contactbook.usecases._support.views import ApplicationView, AttachmentView, PostView
from contactbook.usecases.accounts import ConsentNotice, ProfileView, RegistrationReceipt
from contactbook.usecases.applications import ApplicationSheet
from contactbook.usecases.facilities import FacilityView
from contactbook.usecases.inmates import InmateSummary, RosterReport
from contactbook.usecases.labels import label
from contactbook.usecases.messages import DispatchReport, MessageLogEntry, MessageStatusEntry
from contactbook.usecases.moderation import QueueItem, ReviewSheet
from contactbook.usecases.notices import MonthLabel, NoticeAdminItem, NoticeCard, NoticeDetail
from contactbook.usecases.posts import PostTarget
from contactbook.usecases.staff import StaffView

__all__ = [
    "ApplicationSheet",
    "ApplicationView",
    "AttachmentView",
    "ConsentNotice",
    "DispatchReport",
    "FacilityView",
    "InmateSummary",
    "MessageLogEntry",
    "MessageStatusEntry",
    "MonthLabel",
    "NoticeAdminItem",
    "NoticeCard",
    "NoticeDetail",
    "PostTarget",
    "PostView",
    "ProfileView",
    "QueueItem",
    "RegistrationReceipt",
    "ReviewSheet",
    "RosterReport",
    "StaffView",
    "label",
]
