"""Mailers: a folder of ``.eml`` files and an in-memory outbox (SMTP lives in ``smtp``)."""

from contactbook.adapters.mail.folder import FolderMailer
from contactbook.adapters.mail.memory import MemoryMailer

__all__ = ["FolderMailer", "MemoryMailer"]
