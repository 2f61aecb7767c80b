"""Printed forms: seconds to turn one document's data into PDF bytes, through services.billing.documents.render_pdf
and bare (the same HTML through `HTML(string=html).write_pdf()`, nothing cached: a fresh font configuration, the
inline stylesheet parsed each time), each the median of `repeats` timed runs after one untimed warm-up run (imports,
fontconfig's first font load). Alternate the two (repeats=1 in a loop) when comparing them on a busy machine.

The API half: 20-line invoices drafted and issued through the API, the first GET of each one's
/invoices/{id}/document (rendered and stored by the service) timed next to WeasyPrint rendering the same data bare,
and the repeated GETs of the stored forms next to the SQL the service runs for them."""
from __future__ import annotations

import hashlib
import http.client
import json
import time
import uuid

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session
from weasyprint import HTML

from bench.common.http import post_json, service_get
from bench.common.infra import scalar
from bench.common.report import median
from bench.common.scale import Capture, bare_run
from services.billing.documents import render_html, render_pdf

# Goods and services of a 20-line invoice: (description, unit, OKEI, price with VAT, VAT rate).
CATALOGUE = (("Болт М12×60 оцинкованный, DIN 933", "шт", "796", "18.40", "20"),
             ("Гайка М12 шестигранная, DIN 934", "шт", "796", "4.15", "20"),
             ("Труба стальная электросварная 57×3,5 мм", "м", "006", "512.00", "20"),
             ("Лист горячекатаный 4 мм, сталь 09Г2С", "кг", "166", "96.30", "20"),
             ("Задвижка клиновая 30с41нж Ду100 Ру16", "шт", "796", "23850.00", "20"),
             ("Монтаж оборудования на объекте заказчика", "ч", "356", "3500.00", "20"),
             ("Пусконаладочные работы", "усл. ед", "876", "45000.00", "20"),
             ("Учебный курс по эксплуатации (1 день)", "усл. ед", "876", "40000.00", "0"))


def _median_seconds(render, repeats: int) -> float:
    render()  # warm-up, untimed
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        render()
        seconds.append(time.perf_counter() - start)
    return median(seconds)


def bare_render_seconds(data: dict, repeats: int) -> float:
    """WeasyPrint alone: `render_html(data)` once (untimed), then `HTML(string=html).write_pdf()` timed."""
    html = render_html(data)
    return _median_seconds(lambda: HTML(string=html).write_pdf(), repeats)


def render_pdf_seconds(data: dict, repeats: int) -> float:
    """The package as the service calls it: templates, formatting and WeasyPrint, `render_pdf(data)` timed."""
    return _median_seconds(lambda: render_pdf(data), repeats)


# -- through the API -------------------------------------------------------------------------------------------

def invoice_lines(count: int) -> list[dict]:
    """`count` free-text lines (POST /invoices) cycling through the catalogue, each description made unique by its
    batch number, some with a discount."""
    lines = []
    for k in range(count):
        description, unit, okei, price, vat_rate = CATALOGUE[k % len(CATALOGUE)]
        lines.append({"description": f"{description}, партия {k + 1}",
                      "kind": "service" if okei in ("356", "876") else "goods", "quantity": str(k % 7 + 1),
                      "unit_name": unit,
                      "unit_code": okei, "unit_price": price, "vat_rate": vat_rate,
                      "discount_percent": "5" if k % 5 == 4 else "0"})
    return lines


def buyer_client(url: str) -> str:
    """A live client card with a valid INN in the projection (the generated ones have one); one is added when the
    database has none (a documents-only run on an empty database)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            found = conn.scalar(text("SELECT client_id FROM clients WHERE archived_at IS NULL AND tax_id IS NOT NULL "
                                     "ORDER BY client_id LIMIT 1"))
            if found is not None:
                return str(found)
            client_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "glassbox-bench-buyer"))
            conn.execute(text(
                "INSERT INTO clients (client_id, name, kind, tax_id, address, email, owner_id, last_event_time) "
                "VALUES (:id, 'АО «Волжский сталелитейный завод»', 'company', '7707083893', "
                "'443001, г. Самара, ул. Ленинградская, д. 40', 'buh@volga-steel.example', NULL, now())"),
                {"id": client_id})
            return client_id
    finally:
        engine.dispose()


def issue_invoices(port: int, token: str, client_id: str, count: int, lines: int) -> list[str]:
    """`count` invoices of `lines` lines drafted and issued through the API (by an accountant); their ids."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    ids = []
    try:
        body = {"client_id": client_id, "lines": invoice_lines(lines), "comment": "Поставка по договору № 14/2026"}
        for _ in range(count):
            status, answer = post_json(conn, "/api/v1/invoices", token, body)
            if status != 201:
                raise RuntimeError(f"POST /api/v1/invoices answered {status}: {answer[:500]!r}")
            invoice_id = json.loads(answer)["id"]
            status, answer = post_json(conn, f"/api/v1/invoices/{invoice_id}/issue", token, {})
            if status != 200:
                raise RuntimeError(f"issuing {invoice_id} answered {status}: {answer[:500]!r}")
            ids.append(invoice_id)
    finally:
        conn.close()
    return ids


def document_data(url: str, invoice_id: str) -> dict:
    """The data the service lays out for this invoice, built by the service's own code from the database."""
    from services.billing.models import Invoice
    from services.billing.service.printed_forms import invoice_data

    engine = create_engine(url)
    try:
        with Session(engine) as session:
            invoice = session.scalars(select(Invoice).where(Invoice.id == uuid.UUID(invoice_id))).one()
            return invoice_data(session, invoice)
    finally:
        engine.dispose()


def api_get_document(port: int, invoice_id: str, token: str) -> tuple[float, bytes]:
    """(seconds, PDF) of one GET /invoices/{id}/document on a connection of its own (so that successive requests
    go to any of the workers, as separate users' would)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.connect()  # outside the timing
        seconds, status, body = service_get(conn, f"/api/v1/invoices/{invoice_id}/document", token)
    finally:
        conn.close()
    if status != 200 or not body.startswith(b"%PDF"):
        raise RuntimeError(f"GET the document of {invoice_id} answered {status}: {body[:300]!r}")
    return seconds, body


def stored_forms(url: str, invoice_ids: list[str]) -> int:
    """How many of these invoices have their printed form stored."""
    return int(scalar(url, "SELECT count(*) FROM printed_forms WHERE kind = 'invoice' AND record_id = ANY(:ids)",
                      {"ids": [uuid.UUID(i) for i in invoice_ids]}))


def first_renders(url: str, port: int, token: str, invoice_ids: list[str]) -> list[dict]:
    """Per invoice (never printed before), alternating the order round by round: the API's first GET of its
    document, WeasyPrint bare on the same data's HTML, and the package's render_pdf in this process. The API's bytes
    are checked equal to render_pdf's (a reproducible PDF: the same document, not a cached or different one)."""
    rounds = []
    for k, invoice_id in enumerate(invoice_ids):
        data = document_data(url, invoice_id)
        figures: dict = {"invoice_id": invoice_id, "lines": len(data["lines"])}
        steps = ["api", "bare", "package"]
        for step in (steps if k % 2 == 0 else steps[::-1]):
            if step == "api":
                figures["api_s"], pdf = api_get_document(port, invoice_id, token)
                figures["pdf_bytes"] = len(pdf)
            elif step == "bare":
                figures["bare_s"] = bare_render_seconds(data, 1)
            else:
                figures["package_s"] = render_pdf_seconds(data, 1)
        figures["same_pdf"] = hashlib.sha256(pdf).digest() == hashlib.sha256(render_pdf(data)).digest()
        figures["ratio"] = figures["bare_s"] / figures["api_s"]
        rounds.append(figures)
        print(f"  first render {k + 1}: API {figures['api_s'] * 1000:.0f} ms, bare WeasyPrint "
              f"{figures['bare_s'] * 1000:.0f} ms, render_pdf in-process {figures['package_s'] * 1000:.0f} ms, "
              f"bare / API {figures['ratio']:.2f}, {figures['pdf_bytes']:,} bytes, same PDF: {figures['same_pdf']}",
              flush=True)
    return rounds


def repeat_gets(port: int, capture: Capture, bare, token: str, invoice_ids: list[str], requests: int,
                warmup: int) -> dict:
    """GETs of stored forms, rotating through the invoices, one at a time over a keep-alive connection, alternating
    request by request with the SQL statements the service ran for the same request (captured) run bare."""
    paths = [f"/api/v1/invoices/{invoice_id}/document" for invoice_id in invoice_ids]
    statements = [capture.statements_of(path, token) for path in paths]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    service_ms, bare_ms, errors, sizes = [], [], 0, set()
    try:
        for i in range(warmup + requests):
            k = i % len(paths)
            for who in (("service", "bare") if i % 2 else ("bare", "service")):
                if who == "service":
                    seconds, status, body = service_get(conn, paths[k], token)
                    if status != 200 or not body.startswith(b"%PDF"):
                        errors += 1
                    sizes.add(len(body))
                    if i >= warmup:
                        service_ms.append(seconds * 1000)
                else:
                    seconds = bare_run(bare, statements[k])
                    if i >= warmup:
                        bare_ms.append(seconds * 1000)
    finally:
        conn.close()
    return {"service_ms": service_ms, "bare_ms": bare_ms, "errors": errors, "statements": len(statements[0]),
            "sql": [statement for statement, _ in statements[0]], "pdf_bytes": sorted(sizes)}

