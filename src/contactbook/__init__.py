"""contactbook — Taiwan's Agency of Corrections electronic family contact book
(電子家庭聯絡簿) as a reusable domain library with pluggable adapters.

Start with :func:`open` (adapters chosen by URL) or :func:`bootstrap` (adapters
you built), then call the use cases grouped on the returned :class:`ContactBook`.
"""

from contactbook.book import ContactBook, bootstrap, open, open_from_env
from contactbook.domain.application import ApplicationRejectionReason, ApplicationStatus
from contactbook.domain.facility import (
    DOCUMENTS_PROFILE,
    SINGLE_PHOTO_PROFILE,
    AttachmentProfile,
    FacilityPolicy,
    Restriction,
)
from contactbook.domain.masking import mask_email, mask_mobile, mask_name, mask_national_id
from contactbook.domain.notice import Audience, NoticeKind
from contactbook.domain.pagination import Page
from contactbook.domain.post import PostRejectionReason, PostStatus
from contactbook.domain.relationship import Relationship, Service
from contactbook.domain.staff import Role
from contactbook.usecases.forms import (
    ApplicationForm,
    NoticeChanges,
    NoticeDraft,
    PostDraft,
    ProfileChanges,
    RegistrationForm,
    RosterRow,
)
from contactbook.usecases.labels import label
from contactbook.usecases.principals import FamilyPrincipal, StaffPrincipal
from contactbook.usecases.settings import Settings
from contactbook.usecases.uploads import Download, Upload

__version__ = "0.1.0"

__all__ = [
    "DOCUMENTS_PROFILE",
    "SINGLE_PHOTO_PROFILE",
    "ApplicationForm",
    "ApplicationRejectionReason",
    "ApplicationStatus",
    "AttachmentProfile",
    "Audience",
    "ContactBook",
    "Download",
    "FacilityPolicy",
    "FamilyPrincipal",
    "NoticeChanges",
    "NoticeDraft",
    "NoticeKind",
    "Page",
    "PostDraft",
    "PostRejectionReason",
    "PostStatus",
    "ProfileChanges",
    "RegistrationForm",
    "Relationship",
    "Restriction",
    "Role",
    "RosterRow",
    "Service",
    "Settings",
    "StaffPrincipal",
    "Upload",
    "__version__",
    "bootstrap",
    "label",
    "mask_email",
    "mask_mobile",
    "mask_name",
    "mask_national_id",
    "open",
    "open_from_env",
]
