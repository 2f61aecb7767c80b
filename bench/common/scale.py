"""Lists at scale: bulk data generated in SQL with the secondary indexes off, and the service's GET requests timed
next to the same SQL run bare (captured from the service's own code in this process)."""
from __future__ import annotations

import hashlib
import http.client
import json
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from sqlalchemy import event, text

from bench.common.http import service_get
from bench.common.report import median


# Words of generated company names ("Baltic Timber Kazan LLC").
PREFIXES = ("Northern", "Baltic", "Ural", "Volga", "Siberian", "Pacific", "Golden", "Silver", "United", "First",
            "Central", "Eastern", "Western", "Southern", "Grand", "Royal", "Modern", "Global", "Rapid", "Prime",
            "Arctic", "Crimean", "Amur", "Kama", "Neva", "Oka", "Don", "Altai", "Sayan", "Taiga", "Steppe",
            "Nordic", "Alpha", "Vector", "Orbit", "Delta", "Atlas", "Zenith", "Meridian", "Horizon")
NOUNS = ("Steel", "Timber", "Logistics", "Foods", "Textiles", "Machinery", "Chemicals", "Software", "Glass",
         "Furniture", "Motors", "Energy", "Paper", "Plastics", "Cables", "Pharma", "Dairy", "Grain", "Tools", "Print",
         "Minerals", "Bakery", "Construction", "Packaging", "Electronics", "Textile Mills", "Shipping", "Agro",
         "Metals", "Optics", "Ceramics", "Fisheries", "Brewery", "Lighting", "Pumps", "Valves", "Instruments",
         "Fertilizers", "Polymers", "Systems")
SUFFIXES = ("LLC", "JSC", "Trading House", "Group", "Holding", "Works", "Plant", "Company")


def md5_uuid(seed: str) -> str:
    """The same id as md5(seed)::uuid in SQL."""
    return str(uuid.UUID(hashlib.md5(seed.encode()).hexdigest()))


def sql_array(values) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def sql_pick(values, random_int: str) -> str:
    """SQL picking one of `values` by a random integer expression."""
    return f"({sql_array(values)})[1 + {random_int} % {len(values)}]"


# -- generation ------------------------------------------------------------------------------------------

def secondary_objects(conn, tables) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """The tables' indexes that back no constraint (name, CREATE INDEX ...) and their foreign keys (table, name,
    definition): dropped for a bulk load, rebuilt from these same definitions after it."""
    regclasses = ", ".join(f"'{table}'::regclass" for table in tables)
    indexes = conn.execute(text(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        f"WHERE x.indrelid IN ({regclasses}) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY 1")).all()
    foreign_keys = conn.execute(text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        f"WHERE contype = 'f' AND conrelid IN ({regclasses}) ORDER BY 2")).all()
    return [tuple(row) for row in indexes], [tuple(row) for row in foreign_keys]


def load_without_indexes(engine, tables, phases: dict[str, list[str]], *, foreign_keys: bool = True,
                         work_mem: str | None = None, params: dict | None = None) -> dict[str, float]:
    """Drop the tables' secondary indexes (and, with foreign_keys, their foreign keys), run each phase's statements
    in one transaction, rebuild what was dropped; returns seconds per phase. Without params the statements' colons
    are literal; with params a statement gets those of them it names (`:now`)."""
    timings: dict[str, float] = {}
    with engine.begin() as conn:
        indexes, keys = secondary_objects(conn, tables)
        keys = keys if foreign_keys else []
        for table, name, _ in keys:
            conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
    for phase, statements in phases.items():
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            if work_mem:
                conn.execute(text(f"SET LOCAL work_mem = '{work_mem}'"))
            for statement in statements:
                if params is None:
                    conn.execute(text(statement.replace(":", "\\:")))
                else:
                    conn.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
        timings[f"insert {phase}"] = time.perf_counter() - started
        print(f"  {phase}: {timings[f'insert {phase}']:.1f} s", flush=True)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for _, definition in indexes:
            conn.execute(text(definition))
        for table, name, definition in keys:
            conn.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    label = (f"rebuild {len(indexes)} indexes and {len(keys)} foreign keys" if foreign_keys
             else f"rebuild the {len(indexes)} secondary indexes")
    timings[label] = time.perf_counter() - started
    print(f"  {'indexes and foreign keys' if foreign_keys else 'indexes'}: {timings[label]:.1f} s", flush=True)
    return timings


def vacuum_analyze(engine, tables: str) -> float:
    """VACUUM ANALYZE the tables (the state autovacuum leaves them in); returns the seconds it took."""
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM ANALYZE {tables}"))
    seconds = time.perf_counter() - started
    print(f"  vacuum analyze: {seconds:.1f} s", flush=True)
    return seconds


def table_sizes(conn, tables) -> dict[str, str]:
    """Per table: rows, table size, index size."""
    facts = {}
    for table in tables:
        rows = conn.scalar(text(f"SELECT count(*) FROM {table}"))
        size = conn.scalar(text(f"SELECT pg_size_pretty(pg_table_size('{table}'))"))
        index_size = conn.scalar(text(f"SELECT pg_size_pretty(pg_indexes_size('{table}'))"))
        facts[table] = f"{rows:,} rows, {size} table, {index_size} indexes"
    return facts


# -- service vs bare SQL -----------------------------------------------------------------------------------

class Query:
    """One kind of request: a label, the caller's role, and the query strings it rotates through."""

    def __init__(self, label: str, role: str, path: str, variants: list[dict]):
        self.label, self.role, self.path, self.variants = label, role, path, variants

    def url(self, i: int) -> str:
        params = self.variants[i % len(self.variants)]
        return f"{self.path}?{urlencode(params)}" if params else self.path


class Capture:
    """The SQL statements a service's own code runs for a request, captured in this process: an app made by the
    service's create_app on the same database, called through Flask's test client."""

    def __init__(self, create_app, url: str, public_key: Path):
        self.app = create_app({"database_url": url, "jwt_public_key_file": public_key,
                               "kafka_bootstrap_servers": "127.0.0.1:9"})
        self.client = self.app.test_client()
        self.statements: list[tuple[str, object]] | None = None
        event.listen(self.app.extensions["glassbox_db"].engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, parameters, _context, _executemany):
        if self.statements is not None and statement.strip().lower() != "select 1":  # not the pool's pre-ping
            self.statements.append((statement, parameters))

    def statements_of(self, path: str, token: str) -> list[tuple[str, object]]:
        self.statements = []
        try:
            response = self.client.get(path, headers={"Authorization": f"Bearer {token}"})
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} answered {response.status_code}: {response.get_data()[:300]!r}")
            return self.statements
        finally:
            self.statements = None

    def close(self) -> None:
        self.app.extensions["glassbox_db"].dispose()


def bare_run(conn: psycopg.Connection, statements) -> float:
    started = time.perf_counter()
    for statement, parameters in statements:
        with conn.cursor() as cursor:
            cursor.execute(statement, parameters)
            cursor.fetchall()
    conn.rollback()
    return time.perf_counter() - started


def bare_connection(url: str) -> psycopg.Connection:
    """A plain psycopg connection to a SQLAlchemy URL's database."""
    from sqlalchemy.engine import make_url

    return psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))


def measure(query: Query, port: int, capture: Capture, bare: psycopg.Connection, token: str, requests: int,
            warmup: int, budget: float | None = None, min_requests: int = 20) -> dict:
    """`requests` service and bare runs alternating after `warmup`; with a budget, fewer (at least min_requests)
    once the measured ones take longer than `budget` seconds (a query of seconds would hold the run up)."""
    http_conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        statements = {i: capture.statements_of(query.url(i), token) for i in range(len(query.variants))}
        service_ms, bare_ms, bare_by_variant, errors, first = [], [], {}, 0, None
        started = None
        for i in range(warmup + requests):
            if i == warmup:
                started = time.perf_counter()
            elif budget is not None and started is not None and i - warmup >= min_requests \
                    and time.perf_counter() - started > budget:
                break
            path, variant = query.url(i), i % len(query.variants)
            for who in (("service", "bare") if i % 2 else ("bare", "service")):
                if who == "service":
                    seconds, status, body = service_get(http_conn, path, token)
                    if status != 200:
                        errors += 1
                    elif first is None:
                        first = json.loads(body)
                    if i >= warmup:
                        service_ms.append(seconds * 1000)
                else:
                    seconds = bare_run(bare, statements[variant])
                    if i >= warmup:
                        bare_ms.append(seconds * 1000)
                        bare_by_variant.setdefault(variant, []).append(seconds * 1000)
    finally:
        http_conn.close()
    first = first or {}
    slowest = max(bare_by_variant, key=lambda v: median(bare_by_variant[v])) if bare_by_variant else 0
    return {"service_ms": service_ms, "bare_ms": bare_ms, "errors": errors, "statements": statements,
            "slowest_variant": slowest, "total": first.get("total"), "estimate": first.get("total_is_estimate"),
            "count": sum(c["count"] for c in first["columns"]) if "columns" in first else None, "first": first}
