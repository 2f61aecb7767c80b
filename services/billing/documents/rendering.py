"""Data -> HTML (Jinja2) -> PDF (WeasyPrint), with everything that can be built once built once."""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from jinja2 import ChainableUndefined, Environment, FileSystemLoader, Undefined
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from services.billing.documents.formatting import (format_date, format_money, format_quantity, format_vat_rate,
                                                   short_currency)
from services.billing.documents.reproducible import fix_font_timestamps
from services.billing.documents.words import amount_in_words

# fontTools, which subsets the fonts of every PDF, logs each step at INFO: a dozen lines per document in the logs.
logging.getLogger("fontTools").setLevel(logging.WARNING)

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = (TEMPLATES / "style.css").read_text(encoding="utf-8")
TITLES = {"invoice": "Счёт на оплату", "shipment": "Товарная накладная", "service_act": "Акт"}


def _blank_safe(format_value):
    """A filter that prints a missing value (None, an absent key, '') as empty instead of failing on it."""
    def apply(value, *args):
        if value is None or isinstance(value, Undefined) or value == "":
            return ""
        return format_value(value, *args)
    return apply


ENVIRONMENT = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=True, auto_reload=False, trim_blocks=True, lstrip_blocks=True,
    undefined=ChainableUndefined,  # seller.kpp of an absent seller prints as empty, not an error
    finalize=lambda value: "" if value is None else value)
ENVIRONMENT.filters.update(
    money=_blank_safe(format_money), quantity=_blank_safe(format_quantity), day=_blank_safe(format_date),
    vat_rate=_blank_safe(format_vat_rate), short_currency=short_currency,
    in_words=_blank_safe(lambda amount, currency: amount_in_words(amount, currency or "RUB")))


def document_title(data: dict) -> str:
    """'Счёт на оплату № СЧ-2026-000123 от 02.12.2026'; a draft (no number) has no '№'."""
    kind = data.get("kind")
    if kind not in TITLES:
        raise ValueError(f"unknown document kind {kind!r}; expected one of {', '.join(TITLES)}")
    parts = [TITLES[kind]]
    if data.get("number"):
        parts.append(f"№ {data['number']}")
    if data.get("date"):
        parts.append(f"от {format_date(data['date'])}")
    return " ".join(parts)


def _html(data: dict, inline_style: bool) -> str:
    title = document_title(data)
    template = ENVIRONMENT.get_template(f"{data['kind']}.html")
    return template.render(doc=data, title=title, draft=not data.get("number"),
                           stylesheet=Markup(STYLESHEET) if inline_style else None)


def render_html(data: dict) -> str:
    """The document as one self-contained HTML page (its stylesheet inline)."""
    return _html(data, inline_style=True)


class _Resources(threading.local):
    """A font configuration and the parsed stylesheet, one pair per thread: Pango's font map is not meant to be
    shared between threads (gunicorn runs gthread workers)."""

    def __init__(self):
        self.font_config = FontConfiguration()
        self.stylesheet = CSS(string=STYLESHEET, font_config=self.font_config)


_RESOURCES = _Resources()


def render_pdf(data: dict) -> bytes:
    """The document as PDF bytes: the same bytes for the same data whenever it is rendered (reproducible.py), and
    the same as render_html's page would give (the stylesheet comes pre-parsed instead of inline)."""
    html = HTML(string=_html(data, inline_style=False))
    return html.write_pdf(stylesheets=[_RESOURCES.stylesheet], font_config=_RESOURCES.font_config,
                          finisher=fix_font_timestamps)
