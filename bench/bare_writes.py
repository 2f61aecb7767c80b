"""The baseline of the write benchmarks: each write request as the same transaction written bare.

A plain WSGI app (no Flask, no ORM, no schemas, no auth check) served by gunicorn with the services' settings,
one psycopg connection per gunicorn thread, fsync on. Per request it reads the JSON body and runs, on its own,
the statements the service's transaction needs (the locking reads that decide it, the rows it writes, the same
audit and outbox rows; the open_deal_totals trigger fires as it does for the service), commits once and answers
with the written record as JSON:

- POST /api/v1/deals                 client FOR SHARE, the default pipeline's first stage FOR SHARE, INSERT the
                                     deal, its stage entry, an audit record, an outbox row;
- POST /api/v1/deals/<id>/move       the deal FOR UPDATE, the target stage FOR SHARE, the current stay ended,
                                     UPDATE the deal, a new stay, an audit record, an outbox row;
- POST /api/v1/deals/<id>/win        the deal FOR UPDATE, the current stay ended, UPDATE the deal, an audit
                                     record, an outbox row;
- POST /api/v1/clients               the tax_id / e-mail duplicate check, INSERT the card, an audit record, an
                                     outbox row;
- GET  /ready                        200 once a worker is up.

The actor comes from the bearer token's payload, read without verifying it (the bare side checks nothing).

    BARE_DATABASE_URL=postgresql://... gunicorn -c glassbox/gunicorn_conf.py bench.bare_writes:app
"""
from __future__ import annotations

import base64
import json
import os
import threading
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
from psycopg.types.json import Jsonb

_local = threading.local()


def _connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        url = os.environ["BARE_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        conn = _local.conn = psycopg.connect(url)
    return conn


def _actor(environ) -> str:
    token = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ")
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
    except (IndexError, ValueError, KeyError):
        return "anonymous"


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else (None if value is None else str(value))


AUDIT = ("INSERT INTO audit_records (subject_id, record_type, record_id, action, changes, actor_id, request_id, at) "
         "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)")
OUTBOX = ("INSERT INTO outbox_messages (id, topic, key, type, source, time, payload, request_id) "
          "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)")
DEAL_COLUMNS = ("id, title, amount_amount, amount_currency, client_id, pipeline_id, stage_id, owner_id, status, "
                "expected_close_on, campaign_id, created_at, updated_at, stage_entered_at, stalled_after, closed_at, "
                "lost_reason_id, lost_comment, version")


def _deal_dict(cursor, row) -> dict:
    return {column.name: _iso(value) for column, value in zip(cursor.description, row)}


def _record(cur, kind: str, topic: str, record_id, action: str, changes: list, event: str, payload: dict,
            actor: str, now: datetime) -> None:
    request_id = str(uuid.uuid4())
    cur.execute(AUDIT, (record_id, kind, record_id, action, Jsonb(changes), actor, request_id, now))
    cur.execute(OUTBOX, (str(uuid.uuid4()), topic, str(record_id), event, f"/crm/{topic.split('.')[1]}", now,
                         Jsonb(payload), request_id))


def create_deal(cur, body: dict, actor: str, now: datetime):
    cur.execute("SELECT owner_id, name FROM clients WHERE client_id = %s AND archived_at IS NULL FOR SHARE",
                (body["client_id"],))
    client = cur.fetchone()
    if client is None:
        return 422, {"message": "no such client"}
    cur.execute("SELECT s.id, s.pipeline_id, s.name, s.sla_days FROM stages s JOIN pipelines p ON p.id = s.pipeline_id "
                "WHERE p.is_default AND s.is_active ORDER BY s.position LIMIT 1 FOR SHARE OF s")
    stage_id, pipeline_id, stage_name, sla_days = cur.fetchone()
    stalled = None if sla_days is None else now + timedelta(days=sla_days)
    amount = body["amount"]
    cur.execute(f"INSERT INTO deals ({DEAL_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'open', %s, NULL, %s, %s, "
                f"%s, %s, NULL, NULL, NULL, 1) RETURNING {DEAL_COLUMNS}",
                (uuid.uuid4(), body["title"], amount["amount"], amount["currency"], body["client_id"], pipeline_id,
                 stage_id, client[0], body.get("expected_close_on"), now, now, now, stalled))
    deal = _deal_dict(cur, cur.fetchone())
    cur.execute("INSERT INTO deal_stage_entries (deal_id, stage_id, entered_at) VALUES (%s, %s, %s)",
                (deal["id"], stage_id, now))
    changes = [{"field": k, "old": None, "new": v} for k, v in deal.items()
               if k not in ("id", "created_at", "updated_at", "version") and v is not None]
    _record(cur, "deal", "crm.deals.events", deal["id"], "created", changes, "crm.deal.created.v1",
            {**deal, "deal_id": deal["id"], "stage_name": stage_name, "client_name": client[1], "actor_id": actor},
            actor, now)
    return 201, deal


def _locked_open_deal(cur, deal_id: str):
    cur.execute(f"SELECT {', '.join('d.' + c for c in DEAL_COLUMNS.split(', '))}, s.name FROM deals d "
                "JOIN stages s ON s.id = d.stage_id WHERE d.id = %s FOR UPDATE OF d", (deal_id,))
    row = cur.fetchone()
    return (None, None) if row is None or row[8] != "open" else (_deal_dict(cur, row[:-1]), row[-1])


def move_deal(cur, deal_id: str, body: dict, actor: str, now: datetime):
    deal, previous_stage = _locked_open_deal(cur, deal_id)
    if deal is None:
        return 409, {"message": "no such open deal"}
    cur.execute("SELECT id, name, sla_days FROM stages WHERE id = %s AND pipeline_id = %s AND is_active FOR SHARE",
                (body["stage_id"], deal["pipeline_id"]))
    stage = cur.fetchone()
    if stage is None:
        return 422, {"message": "no such stage"}
    stalled = None if stage[2] is None else now + timedelta(days=stage[2])
    cur.execute("UPDATE deal_stage_entries SET left_at = %s WHERE deal_id = %s AND left_at IS NULL", (now, deal_id))
    cur.execute(f"UPDATE deals SET stage_id = %s, updated_at = %s, stage_entered_at = %s, stalled_after = %s, "
                f"version = version + 1 WHERE id = %s RETURNING {DEAL_COLUMNS}", (stage[0], now, now, stalled, deal_id))
    moved = _deal_dict(cur, cur.fetchone())
    cur.execute("INSERT INTO deal_stage_entries (deal_id, stage_id, entered_at) VALUES (%s, %s, %s)",
                (deal_id, stage[0], now))
    _record(cur, "deal", "crm.deals.events", deal_id, "updated",
            [{"field": "stage", "old": previous_stage, "new": stage[1]}], "crm.deal.stage_changed.v1",
            {**moved, "deal_id": deal_id, "from_stage_id": deal["stage_id"], "from_stage_name": previous_stage,
             "to_stage_name": stage[1], "actor_id": actor}, actor, now)
    return 200, moved


def win_deal(cur, deal_id: str, body: dict, actor: str, now: datetime):
    deal, stage_name = _locked_open_deal(cur, deal_id)
    if deal is None:
        return 409, {"message": "no such open deal"}
    cur.execute("UPDATE deal_stage_entries SET left_at = %s WHERE deal_id = %s AND left_at IS NULL", (now, deal_id))
    cur.execute(f"UPDATE deals SET status = 'won', closed_at = %s, updated_at = %s, version = version + 1 "
                f"WHERE id = %s RETURNING {DEAL_COLUMNS}", (now, now, deal_id))
    won = _deal_dict(cur, cur.fetchone())
    _record(cur, "deal", "crm.deals.events", deal_id, "updated",
            [{"field": "status", "old": "open", "new": "won"}, {"field": "closed_at", "old": None,
                                                                 "new": won["closed_at"]}],
            "crm.deal.won.v1", {**won, "deal_id": deal_id, "stage_name": stage_name, "actor_id": actor}, actor, now)
    return 200, won


CLIENT_FIELDS = ("name", "kind", "tax_id", "industry", "region", "address", "phone", "email", "website",
                 "source_channel", "rating", "notes")


def create_client(cur, body: dict, actor: str, now: datetime):
    # The service's statement: ordered by the tax id match, so PostgreSQL reads both unique indexes (a bitmap OR);
    # the same OR with a bare LIMIT 1 is planned as a scan of every card, which slows as the table grows.
    cur.execute("SELECT id FROM clients WHERE (tax_id = %s OR lower(email) = lower(%s)) AND archived_at IS NULL "
                "ORDER BY tax_id = %s DESC LIMIT 1", (body.get("tax_id"), body.get("email"), body.get("tax_id")))
    if cur.fetchone() is not None:
        return 409, {"message": "duplicate"}
    values = [body.get(name) for name in CLIENT_FIELDS]
    cur.execute(f"INSERT INTO clients (id, {', '.join(CLIENT_FIELDS)}, status, owner_id, created_at, updated_at, "
                f"assigned_at) VALUES (%s, {', '.join(['%s'] * len(CLIENT_FIELDS))}, 'prospect', %s, %s, %s, %s) "
                "RETURNING *", (uuid.uuid4(), *values, actor, now, now, now))
    card = _deal_dict(cur, cur.fetchone())
    changes = [{"field": k, "old": None, "new": v} for k, v in card.items() if k in CLIENT_FIELDS and v is not None]
    _record(cur, "client", "crm.clients.events", card["id"], "created", changes, "crm.client.created.v1",
            {**card, "client_id": card["id"], "actor_id": actor}, actor, now)
    return 201, card


def transaction(handler, *args):
    """`handler(cursor, *args)` -> (status, answer) on this thread's connection, committed when the status is below
    300 and rolled back otherwise (and on any exception). bench/stack_floor.py runs the same functions through it."""
    conn = _connection()
    try:
        with conn.cursor() as cur:
            status, answer = handler(cur, *args)
        conn.commit() if status < 300 else conn.rollback()
    except Exception:
        conn.rollback()
        raise
    return status, answer


def _route(method: str, path: str):
    parts = path.strip("/").split("/")
    if method != "POST" or parts[:2] != ["api", "v1"]:
        return None
    if parts[2:] == ["deals"]:
        return lambda cur, body, actor, now: create_deal(cur, body, actor, now)
    if parts[2:] == ["clients"]:
        return lambda cur, body, actor, now: create_client(cur, body, actor, now)
    if len(parts) == 5 and parts[2] == "deals" and parts[4] in ("move", "win"):
        handler = move_deal if parts[4] == "move" else win_deal
        return lambda cur, body, actor, now: handler(cur, parts[3], body, actor, now)
    return None


def app(environ, start_response):
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
    if method == "GET" and path == "/ready":
        _connection()
        status, answer = 200, {"ready": True}
    elif (handler := _route(method, path)) is None:
        status, answer = 404, {"message": "not found"}
    else:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
        status, answer = transaction(handler, body, _actor(environ), datetime.now(timezone.utc))
    data = json.dumps(answer).encode()
    start_response(f"{status} {'OK' if status < 300 else 'Error'}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
