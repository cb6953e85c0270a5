"""Mail templates: ``templates/mail/<cause>.<locale>.txt``, overridable per book.

A template is ``string.Template`` text: a ``Subject:`` line, a blank line, then
the body, with ``${name}`` placeholders. An embedding system points
``Settings.mail_template_dir`` at a folder of its own; a file there replaces the
shipped one of the same name, the others stay. Templates are read when a mail
is composed, never at import time.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import attrs

__all__ = ["RenderedMail", "TemplateMissing", "render"]


class TemplateMissing(LookupError):
    """No template for a cause and locale, shipped or overriding."""


@attrs.frozen
class RenderedMail:
    subject: str
    body: str


class _Blanks(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


@functools.lru_cache(maxsize=128)
def _source(name: str, override_dir: str | None) -> str:
    if override_dir is not None:
        candidate = Path(override_dir) / name
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    shipped = resources.files("contactbook") / "templates" / "mail" / name
    if not shipped.is_file():
        raise TemplateMissing(name)
    return shipped.read_text(encoding="utf-8")


def render(
    cause: str, locale: str, values: Mapping[str, str], *, override_dir: str | None = None
) -> RenderedMail:
    """The subject and body of ``cause`` in ``locale`` with ``values`` filled in."""
    text = _source(f"{cause}.{locale}.txt", override_dir)
    head, _, body = text.partition("\n\n")
    if not head.startswith("Subject:"):
        raise ValueError(f"mail template {cause}.{locale}.txt must start with 'Subject:'")
    fill = _Blanks(values)
    subject = string.Template(head.removeprefix("Subject:").strip()).safe_substitute(fill)
    return RenderedMail(subject, string.Template(body.rstrip("\n")).safe_substitute(fill))
