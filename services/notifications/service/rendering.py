"""Templates rendered safely: Jinja2's sandbox (no attribute tricks, no imports), undefined names are errors, the
HTML part autoescaped. A template that does not compile or render is an Invalid (422) naming the part and the
line. The variables: `client` (the card as the clients service told it), `owner` (its owner: full_name, email),
`deal` (optional), `unsubscribe_url`, `today`."""
from __future__ import annotations

import html
import traceback
from dataclasses import dataclass

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from glassbox import clock
from glassbox.errors import Invalid

PARTS = ("subject", "body", "html_body")
_TEXT = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_HTML = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True, keep_trailing_newline=True)

SAMPLE_CLIENT = {"client_id": "00000000-0000-0000-0000-000000000001", "name": "Volga Steel Works",
                 "kind": "company", "tax_id": "6312000101", "industry": "manufacturing", "region": "Samara",
                 "address": "12 Zavodskaya St, Samara", "phone": "+7 846 200-10-01", "email": "buy@volgasteel.example",
                 "website": "https://volgasteel.example", "rating": "A", "status": "active",
                 "source_channel": "exhibition",
                 "campaign_id": None, "owner_id": None, "notes": None}
SAMPLE_OWNER = {"full_name": "Anna Petrova", "email": "anna.manager@glassbox.local", "role": "manager"}


def _line(exc: Exception, name: str) -> int | None:
    """The template line a render error happened on (Jinja rewrites the traceback to point at the template)."""
    if getattr(exc, "lineno", None):
        return exc.lineno
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == name:
            return frame.lineno
    return None


def _invalid(part: str, exc: Exception) -> Invalid:
    line = _line(exc, f"<{part}>")
    where = f"line {line}: " if line else ""
    message = exc.message if isinstance(exc, TemplateSyntaxError) and exc.message else str(exc)
    return Invalid(f"the template's {part} does not render: {where}{message}",
                   {"json": {part: [f"{where}{message}"]}, "line": line})


@dataclass
class CompiledTemplate:
    subject: object
    body: object
    html_body: object | None

    def render(self, context: dict) -> dict:
        """{subject, text, html}; Invalid (422) naming the part and line that failed."""
        rendered = {}
        for part, template in (("subject", self.subject), ("body", self.body), ("html_body", self.html_body)):
            if template is None:
                continue
            try:
                rendered[part] = template.render(context)
            except Exception as exc:  # undefined names, sandbox refusals, errors raised by filters
                raise _invalid(part, exc) from None
        subject = " ".join(rendered["subject"].split())[:300]  # one line: a header
        text = rendered["body"]
        return {"subject": subject, "text": text, "html": rendered.get("html_body") or text_to_html(text)}


def compile_template(subject: str, body: str, html_body: str | None) -> CompiledTemplate:
    compiled = {}
    for part, source, environment in (("subject", subject, _TEXT), ("body", body, _TEXT),
                                      ("html_body", html_body, _HTML)):
        if source is None:
            compiled[part] = None
            continue
        try:
            compiled[part] = _named(environment, source, part)
        except TemplateError as exc:
            raise _invalid(part, exc) from None
    return CompiledTemplate(**compiled)


def _named(environment: SandboxedEnvironment, source: str, part: str):
    """A template whose tracebacks name the part (so a render error's line can be found)."""
    code = environment.compile(source, name=f"<{part}>", filename=f"<{part}>")
    return environment.template_class.from_code(environment, code, environment.make_globals(None), None)


def text_to_html(text: str) -> str:
    """The HTML part made from a plain text: escaped, paragraphs on blank lines, line breaks kept."""
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    body = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f'<!doctype html><html><body style="font-family: sans-serif">{body}</body></html>'


def context(client: dict, owner: dict | None, deal: dict | None, unsubscribe_url: str | None) -> dict:
    return {"client": client, "owner": owner or {}, "deal": deal, "unsubscribe_url": unsubscribe_url or "",
            "today": clock.today().isoformat()}
