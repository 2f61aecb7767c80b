"""The billing benchmark's data, generated in SQL: managers, a head of sales and an accountant in the projection of
users, client cards in the projection of clients, invoices in every state, their payments and allocations (some
with credit left, some not allocated at all, a few reversed) and the payment plans of some of them."""
from __future__ import annotations

import json
import time

from sqlalchemy import create_engine, text

from bench.common.scale import (NOUNS, PREFIXES, SUFFIXES, load_without_indexes, md5_uuid, sql_array, sql_pick,
                                table_sizes, vacuum_analyze)

TABLES = ("clients", "invoices", "payments", "payment_allocations", "planned_payments")
CITIES = ("г. Москва", "г. Санкт-Петербург", "г. Самара", "г. Екатеринбург", "г. Новосибирск", "г. Калининград",
          "г. Казань", "г. Нижний Новгород", "г. Ростов-на-Дону", "г. Краснодар")
INN_REGIONS = ("77", "78", "63", "66", "54", "39", "16", "52", "61", "23")  # the same order as CITIES
STREETS = ("ул. Заводская", "Московский пр-т", "ул. Малышева", "ул. Портовая", "Красный пр-т", "ул. Ленина",
           "ул. Садовая", "пр-т Мира", "ул. Победы", "наб. Реки Мойки")
# The seller as an issued invoice keeps it (a copy of the requisites at the time it was issued).
SELLER = {"legal_name": "ООО «Гласбокс Бенч»", "inn": "7736207543", "kpp": "773601001", "ogrn": "1027700229193",
          "address": "125009, г. Москва, ул. Тверская, д. 1", "bank_name": "ПАО Сбербанк", "bik": "044525225",
          "correspondent_account": "30101810400000000225", "settlement_account": "40702810200000012345",
          "director": "Иванов И. И.", "chief_accountant": "Петрова А. С."}
CANCEL_REASONS = ("Клиент отказался от поставки", "Выставлен повторно с другими реквизитами",
                  "Ошибка в количестве")
# The mix of invoices by status (cumulative shares, in this order).
STATUS_SHARES = (("paid", 0.85), ("issued", 0.94), ("partially_paid", 0.97), ("cancelled", 0.99), ("draft", 1.0))


def manager_id(k: int) -> str:
    """Generated manager k (1-based): the same id as md5('bench-manager-' || k)::uuid in the SQL."""
    return md5_uuid(f"bench-manager-{k}")


HEAD_OF_SALES = md5_uuid("bench-head-of-sales")
ACCOUNTANT = md5_uuid("bench-accountant")
ADMIN = md5_uuid("bench-admin")


def _status_case(r: str) -> str:
    whens = " ".join(f"WHEN {r} < {share} THEN '{status}'" for status, share in STATUS_SHARES[:-1])
    return f"CASE {whens} ELSE '{STATUS_SHARES[-1][0]}' END"


def generation_sql(invoices: int, clients: int, managers: int) -> dict[str, list[str]]:
    """The statements of each load phase. Ids are md5 hashes of a counter (random to the indexes, like uuid4); a
    payment's id is the hash of its invoice's id, so an allocation finds its payment without a join."""
    seller = json.dumps(SELLER, ensure_ascii=False).replace("'", "''")
    inn_check = ("(SELECT sum(substr(g.d, k, 1)::int * (ARRAY[2, 4, 10, 3, 5, 9, 4, 6, 8])[k]) "
                 "FROM generate_series(1, 9) k) % 11 % 10")
    return {
        "users and clients projections": [
            "SELECT setseed(0.4)",
            f"""INSERT INTO users (user_id, full_name, email, role, team_id, is_active, updated_at, last_event_time)
                SELECT md5('bench-manager-' || k)::uuid, 'Manager ' || k, 'manager' || k || '@glassbox.example',
                       'manager', NULL::uuid, true, now(), now()
                FROM generate_series(1, {managers}) k
                UNION ALL VALUES ('{HEAD_OF_SALES}'::uuid, 'Head of sales', 'head@glassbox.example',
                                  'head_of_sales', NULL::uuid, true, now(), now()),
                                 ('{ACCOUNTANT}'::uuid, 'Accountant', 'accountant@glassbox.example', 'accountant',
                                  NULL::uuid, true, now(), now())""",
            # Companies with a valid 10-digit INN (region code, the card's number, its check digit), 2 % archived.
            f"""INSERT INTO clients (client_id, name, kind, tax_id, address, email, owner_id, archived_at, updated_at,
                                     last_event_time)
                SELECT md5('bench-client-' || g.i)::uuid, g.name, 'company', g.d || ({inn_check}),
                       (440000 + g.i % 9000)::text || ', ' || g.city || ', ' || {sql_pick(STREETS, 'g.b')}
                           || ', д. ' || (1 + g.b % 120),
                       'buh' || g.i || '@client.example', md5('bench-manager-' || (1 + g.i % {managers}))::uuid,
                       CASE WHEN g.a % 50 = 0 THEN now() - interval '1 day' * (g.b % 300) END, now(), now()
                FROM (SELECT i, ({sql_array(INN_REGIONS)})[1 + i % 10] || lpad(i::text, 7, '0') AS d,
                             ({sql_array(CITIES)})[1 + i % 10] AS city,
                             {sql_pick(PREFIXES, 'a')} || ' ' || {sql_pick(NOUNS, 'b')} || ' '
                                 || {sql_pick(SUFFIXES, 'a / 40')} AS name, a, b
                      FROM (SELECT i, (random() * 1e9)::int AS a, (random() * 1e9)::int AS b
                            FROM generate_series(1, {clients}) i) s) g""",
        ],
        "invoices": [
            "SELECT setseed(0.5)",
            # Closed ones (paid, cancelled) issued over the last three years; open ones due from 200 days ago to 60
            # days ahead (most not yet due or a little late); drafts from the last month. Numbered per year in
            # the order of issue, as the service numbers them.
            f"""INSERT INTO invoices (id, number, status, client_id, deal_id, owner_id, currency, issued_on, due_on,
                                      comment, net_amount, vat_amount, total_amount, paid_amount, buyer, seller,
                                      cancel_reason, created_by, created_at, updated_at, issued_at, paid_at,
                                      cancelled_at, overdue_announced_at)
                SELECT d.id,
                       CASE WHEN d.status <> 'draft' THEN 'СЧ-' || extract(year FROM d.issued_on) || '-'
                            || lpad(row_number() OVER (PARTITION BY d.status = 'draft', extract(year FROM d.issued_on)
                                                       ORDER BY d.issued_at, d.i)::text, 6, '0') END,
                       d.status, d.client_id, NULL, d.owner_id, d.currency, d.issued_on, d.due_on, NULL,
                       round(d.total / d.vat_divisor, 2), d.total - round(d.total / d.vat_divisor, 2), d.total,
                       CASE d.status WHEN 'paid' THEN d.total
                                     WHEN 'partially_paid' THEN round(d.total * (0.2 + 0.6 * d.rpart)::numeric, 2)
                                     ELSE 0 END,
                       CASE WHEN d.status <> 'draft' THEN jsonb_build_object('name', d.client_name, 'inn', d.tax_id,
                                                                             'kpp', NULL, 'address', d.address) END,
                       CASE WHEN d.status <> 'draft' THEN '{seller}'::jsonb END,
                       CASE WHEN d.status = 'cancelled' THEN {sql_pick(CANCEL_REASONS, 'd.a')} END,
                       '{ACCOUNTANT}'::uuid, d.base_at - interval '1 minute' * (d.a % 2880),
                       coalesce(d.paid_at, d.cancelled_at, d.issued_at, d.base_at), d.issued_at, d.paid_at,
                       d.cancelled_at,
                       CASE WHEN d.status IN ('issued', 'partially_paid') AND d.due_on < current_date
                            THEN (d.due_on + 1) + time '06:00' END
                FROM (SELECT t.*, md5('bench-invoice-' || t.i)::uuid AS id, cl.client_id, cl.owner_id,
                             cl.name AS client_name, cl.tax_id, cl.address,
                             CASE WHEN t.status <> 'draft' THEN t.base_at END AS issued_at,
                             CASE WHEN t.status = 'paid' THEN least(now() - interval '1 hour',
                                  (t.issued_day + time '10:00')::timestamptz
                                  + interval '1 day' * floor(t.rpay * (t.term + 20)))
                             END AS paid_at,
                             CASE WHEN t.status = 'cancelled' THEN least(now() - interval '1 hour',
                                  (t.issued_day + time '15:00')::timestamptz + interval '1 day' * (t.a % 5))
                             END AS cancelled_at
                      FROM (SELECT s.*,
                                   CASE WHEN s.status = 'draft' THEN NULL ELSE s.due_on - s.term END AS issued_on,
                                   -- a draft's "issue day" is only where its created_at comes from
                                   s.due_on - s.term AS issued_day,
                                   (s.due_on - s.term + time '09:00')::timestamptz
                                       + interval '1 minute' * (s.b % 540) AS base_at
                            FROM (SELECT r.*,
                                         CASE WHEN r.status IN ('issued', 'partially_paid') THEN
                                              CASE WHEN r.rdue < 0.55 THEN current_date + floor(r.rx * (r.term + 1))::int
                                                   ELSE current_date - 1 - floor(200 * r.rx ^ 1.5)::int END
                                              WHEN r.status = 'draft' THEN current_date + r.term - (r.a % 30)
                                              ELSE current_date - floor(r.rt * 1095)::int - 1 + r.term
                                                   - CASE WHEN r.status = 'paid' THEN r.term + 20 ELSE 5 END
                                         END AS due_on
                                  FROM (SELECT q.*, {_status_case('q.rs')} AS status,
                                               (ARRAY[5, 10, 10, 14, 30, 30, 45, 60])[1 + q.b % 8] AS term,
                                               CASE WHEN q.rcu < 0.92 THEN 'RUB' WHEN q.rcu < 0.97 THEN 'USD'
                                                    WHEN q.rcu < 0.99 THEN 'EUR' ELSE 'CNY' END AS currency,
                                               round((10 ^ (3.7 + q.ram * 3))::numeric
                                                     / CASE WHEN q.rcu < 0.92 THEN 1 WHEN q.rcu < 0.99 THEN 90
                                                            ELSE 12 END, 2) AS total,
                                               CASE WHEN q.rvat < 0.85 THEN 1.2 WHEN q.rvat < 0.92 THEN 1.1 ELSE 1 END
                                                   AS vat_divisor
                                        FROM (SELECT i, 1 + floor(random() * {clients})::int AS c, random() AS rs,
                                                     random() AS rdue, random() AS rx, random() AS rt,
                                                     random() AS rcu, random() AS ram, random() AS rvat,
                                                     random() AS rpart, random() AS rpay,
                                                     (random() * 1e9)::int AS a, (random() * 1e9)::int AS b
                                              FROM generate_series(1, {invoices}) i) q) r) s) t
                      JOIN clients cl ON cl.client_id = md5('bench-client-' || t.c)::uuid) d""",
            "INSERT INTO document_numbers (kind, year, last_number) "
            "SELECT 'invoice', extract(year FROM issued_on), count(*) FROM invoices WHERE number IS NOT NULL "
            "GROUP BY 2",
        ],
        "payments and allocations": [
            "SELECT setseed(0.6)",
            # One payment per paid or partially paid invoice, allocated to it; 3 % paid more than the invoice (the
            # rest is the client's credit).
            f"""INSERT INTO payments (id, client_id, owner_id, amount, currency, paid_on, method, payer_name,
                                      payer_inn, reference, status, allocated_amount, bank_document_key,
                                      statement_id, reversal_reason, created_by, created_at, reversed_at)
                SELECT md5('bench-payment-' || p.id)::uuid, p.client_id, p.owner_id,
                       p.paid_amount + CASE WHEN p.r < 0.03 THEN round(p.total_amount * 0.1, 2) ELSE 0 END,
                       p.currency, p.paid_on, p.method, p.buyer->>'name', p.buyer->>'inn',
                       'Оплата по счёту № ' || p.number, 'recorded', p.paid_amount,
                       CASE WHEN p.method = 'bank_transfer' THEN 'bench|' || p.id END, NULL, NULL,
                       '{ACCOUNTANT}'::uuid, p.paid_on + time '11:00', NULL
                FROM (SELECT i.*,
                             CASE WHEN i.status = 'paid' THEN i.paid_at::date
                                  ELSE i.issued_on + floor(i.r * (current_date - i.issued_on))::int END AS paid_on,
                             CASE WHEN i.r < 0.90 THEN 'bank_transfer' WHEN i.r < 0.95 THEN 'card'
                                  WHEN i.r < 0.98 THEN 'cash' ELSE 'other' END AS method
                      FROM (SELECT invoices.*, random() AS r FROM invoices
                            WHERE status IN ('paid', 'partially_paid')) i) p""",
            f"""INSERT INTO payment_allocations (payment_id, invoice_id, amount, created_at)
                SELECT md5('bench-payment-' || id)::uuid, id, paid_amount, coalesce(paid_at, updated_at)
                FROM invoices WHERE status IN ('paid', 'partially_paid')""",
            # Advances nobody has allocated yet (0.5 % of the invoice count), and reversed payments (0.3 %).
            f"""INSERT INTO payments (id, client_id, owner_id, amount, currency, paid_on, method, payer_name,
                                      payer_inn, reference, status, allocated_amount, bank_document_key,
                                      statement_id, reversal_reason, created_by, created_at, reversed_at)
                SELECT md5('bench-loose-payment-' || g.i)::uuid, cl.client_id, cl.owner_id,
                       round((10 ^ (3.5 + g.ram * 2.5))::numeric, 2), 'RUB', g.paid_on, 'bank_transfer', cl.name,
                       cl.tax_id, 'Предоплата', g.status, 0, 'bench-loose|' || g.i, NULL,
                       CASE WHEN g.status = 'reversed' THEN 'Ошибочно зачислен' END, '{ACCOUNTANT}'::uuid,
                       g.paid_on + time '11:00',
                       CASE WHEN g.status = 'reversed' THEN g.paid_on + time '16:00' END
                FROM (SELECT i, 1 + floor(random() * {clients})::int AS c, random() AS ram,
                             current_date - floor(random() * 365)::int AS paid_on,
                             CASE WHEN i % 8 < 5 THEN 'recorded' ELSE 'reversed' END AS status
                      FROM generate_series(1, {max(8, invoices // 125)}) i) g
                JOIN clients cl ON cl.client_id = md5('bench-client-' || g.c)::uuid""",
        ],
        "payment plans": [
            "SELECT setseed(0.7)",
            # 10 % of the open invoices and 2 % of the paid ones pay in 2 or 3 instalments (30 %, 30 %, the rest;
            # or half and half), spread evenly to the due date; those past due on an open invoice were announced.
            """INSERT INTO planned_payments (id, invoice_id, due_on, amount, missed_announced_at)
               SELECT md5('bench-plan-' || p.id || '-' || k)::uuid, p.id,
                      p.issued_on + ceil(k * (p.due_on - p.issued_on)::numeric / p.n)::int,
                      CASE WHEN k < p.n THEN round(p.total_amount * CASE p.n WHEN 3 THEN 0.3 ELSE 0.5 END, 2)
                           ELSE p.total_amount - (p.n - 1) * round(p.total_amount * CASE p.n WHEN 3 THEN 0.3
                                                                                          ELSE 0.5 END, 2) END,
                      CASE WHEN p.status <> 'paid'
                                AND p.issued_on + ceil(k * (p.due_on - p.issued_on)::numeric / p.n)::int < current_date
                           THEN (p.issued_on + ceil(k * (p.due_on - p.issued_on)::numeric / p.n)::int + 1)
                                + time '06:00' END
               FROM (SELECT id, status, issued_on, due_on, total_amount, 2 + (random() < 0.5)::int AS n
                     FROM invoices
                     WHERE (status IN ('issued', 'partially_paid') AND random() < 0.10)
                        OR (status = 'paid' AND random() < 0.02)) p
               CROSS JOIN LATERAL generate_series(1, p.n) k""",
        ],
    }


# The totals PostgreSQL keeps for the receivables (migration 0002): table -> (its columns, the statement that sums
# them afresh, as the migration fills them).
OPEN = "status IN ('issued', 'partially_paid')"
TOTALS = {
    "open_receivables_by_client": (
        "client_id, owner_id, currency, invoices, outstanding",
        "SELECT client_id, owner_id, currency, count(*), sum(total_amount - paid_amount) FROM invoices "
        f"WHERE {OPEN} GROUP BY client_id, owner_id, currency"),
    "open_receivables_by_day": (
        "owner_id, currency, due_on, invoices, outstanding",
        "SELECT owner_id, currency, due_on, count(*), sum(total_amount - paid_amount) FROM invoices "
        f"WHERE {OPEN} GROUP BY owner_id, currency, due_on"),
    "planned_by_day": (
        "owner_id, currency, due_on, instalments, amount",
        "SELECT i.owner_id, i.currency, p.due_on, count(*), sum(p.amount) FROM planned_payments p "
        "JOIN invoices i ON i.id = p.invoice_id WHERE i.status <> 'cancelled' GROUP BY i.owner_id, i.currency, p.due_on"),
}


def generate(url: str, invoices: int, clients: int, managers: int) -> dict[str, float]:
    """Load the data with the secondary indexes and foreign keys of its tables off, and the triggers that keep the
    receivables' totals off (they are recomputed after the load instead); returns seconds per phase."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for table in ("invoices", "planned_payments"):
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        phases = load_without_indexes(engine, TABLES, generation_sql(invoices, clients, managers), work_mem="256MB")
        started = time.perf_counter()
        with engine.begin() as conn:
            for table, (columns, fresh) in TOTALS.items():
                conn.execute(text(f"DELETE FROM {table}"))
                conn.execute(text(f"INSERT INTO {table} ({columns}) {fresh}"))
            for table in ("invoices", "planned_payments"):
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        phases["receivables totals recomputed (migration 0002's statements), triggers on again"] = \
            time.perf_counter() - started
        phases["VACUUM ANALYZE"] = vacuum_analyze(
            engine, "users, clients, invoices, payments, payment_allocations, planned_payments, document_numbers, "
                    "open_receivables_by_client, open_receivables_by_day, planned_by_day")
    finally:
        engine.dispose()
    return phases


def totals_mismatched(url: str) -> int:
    """Rows of the kept receivables' totals that differ from a fresh GROUP BY of the open invoices (0: the trigger
    and the load kept them right)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sum(conn.scalar(text(
                f"SELECT count(*) FROM ((SELECT {columns} FROM {table} EXCEPT ALL {fresh}) "
                f"UNION ALL ({fresh} EXCEPT ALL SELECT {columns} FROM {table})) AS differing"))
                for table, (columns, fresh) in TOTALS.items())
    finally:
        engine.dispose()


def data_facts(url: str) -> dict[str, str]:
    """Table sizes and the mix as generated (what the report's reader checks the data by)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            facts = table_sizes(conn, (*TABLES, *TOTALS))
            mix = conn.execute(text(
                "SELECT status, count(*) FROM invoices GROUP BY status ORDER BY count(*) DESC")).all()
            total = sum(n for _, n in mix) or 1
            facts["invoice mix"] = ", ".join(f"{status} {100 * n / total:.1f} %" for status, n in mix)
            aging = conn.execute(text(
                "SELECT count(*) FILTER (WHERE due_on >= current_date), "
                "count(*) FILTER (WHERE due_on < current_date AND due_on >= current_date - 30), "
                "count(*) FILTER (WHERE due_on < current_date - 30 AND due_on >= current_date - 90), "
                "count(*) FILTER (WHERE due_on < current_date - 90), count(DISTINCT client_id), "
                "count(DISTINCT currency) FROM invoices WHERE status IN ('issued', 'partially_paid')")).one()
            facts["open invoices"] = (f"{sum(aging[:4]):,} on {aging[4]:,} clients in {aging[5]} currencies: "
                                      f"{aging[0]:,} not yet due, {aging[1]:,} 1-30 days late, {aging[2]:,} 31-90, "
                                      f"{aging[3]:,} over 90")
            credit = conn.execute(text(
                "SELECT count(*) FILTER (WHERE status = 'recorded' AND allocated_amount < amount), "
                "count(*) FILTER (WHERE status = 'reversed') FROM payments")).one()
            facts["payments with credit left, reversed"] = f"{credit[0]:,}, {credit[1]:,}"
            return facts
    finally:
        engine.dispose()
