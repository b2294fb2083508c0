"""Notification texts from Jinja2 templates, one per template name and language.

A template's first line is the subject, then a line ``---``, then the body. Missing values
are errors (StrictUndefined): a message with a hole in it is worse than a retry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

from itsm.domain.errors import ItsmError
from itsm.services.delivery import RenderedMessage

TEMPLATES = Path(__file__).with_name("templates")
FALLBACK_LANGUAGE = "en"


class TemplateRenderer:
    def __init__(self, folder: Path = TEMPLATES) -> None:
        self._environment = Environment(
            loader=FileSystemLoader(folder),
            undefined=StrictUndefined,
            autoescape=False,  # plain text; nothing is ever rendered as HTML
            keep_trailing_newline=False,
        )

    def render(self, template: str, language: str, context: dict[str, Any]) -> RenderedMessage:
        try:
            source = self._environment.get_template(f"{language}/{template}.txt")
        except TemplateNotFound:
            try:
                source = self._environment.get_template(f"{FALLBACK_LANGUAGE}/{template}.txt")
            except TemplateNotFound as err:
                raise ItsmError(f"no notification template '{template}'") from err
        text = source.render(**context)
        subject, separator, body = text.partition("\n---\n")
        if not separator:
            raise ItsmError(f"template '{template}' has no '---' line after its subject")
        # A subject is one line: a value with a newline must not inject headers.
        return RenderedMessage(" ".join(subject.split()), body.strip() + "\n")
