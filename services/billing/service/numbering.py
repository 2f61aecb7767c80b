"""Gapless document numbers per kind and year, e.g. СЧ-2026-000123. The counter row is taken with an
INSERT ... ON CONFLICT DO UPDATE ... RETURNING inside the transaction that issues the document: concurrent issues
queue on its row lock, and a transaction that rolls back gives its number back, so no number is skipped or given
twice."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

PREFIXES = {"invoice": "СЧ", "shipment": "ТН", "service_act": "АКТ"}


def next_number(session: Session, kind: str, year: int) -> str:
    number = session.execute(text(
        "INSERT INTO document_numbers (kind, year, last_number) VALUES (:kind, :year, 1) "
        "ON CONFLICT (kind, year) DO UPDATE SET last_number = document_numbers.last_number + 1 "
        "RETURNING last_number"), {"kind": kind, "year": year}).scalar_one()
    return f"{PREFIXES[kind]}-{year}-{number:06d}"
