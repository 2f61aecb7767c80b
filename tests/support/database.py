"""The services' test databases: migrated once, then put back to a fresh installation before each test."""
from __future__ import annotations

import pytest
from sqlalchemy import MetaData, Table, create_engine, text

from glassbox import migrations

# The kit's tables start empty in every test, even where a migration put an event in the outbox.
KIT_TABLES = ("outbox_messages", "processed_events", "idempotency_keys")

# What the migrations seed (code lists such as activity types and channels), per database URL: the
# state of a fresh installation, which truncate_all puts back.
_SEEDED: dict[str, dict[str, list[dict]]] = {}


def migrate(url: str, service: str) -> None:
    """Migrate to head, then remember the rows the migrations seeded."""
    migrations.upgrade(service, url)
    engine = create_engine(url)
    with engine.connect() as conn:
        schema = MetaData()
        schema.reflect(conn)
        # In foreign-key order (a pipeline before its stages), the order truncate_all puts them back in.
        _SEEDED[url] = {table.name: [dict(row) for row in conn.execute(table.select()).mappings()]
                        for table in schema.sorted_tables
                        if not table.name.startswith("alembic_version") and table.name not in KIT_TABLES}
    engine.dispose()
    _SEEDED[url] = {table: rows for table, rows in _SEEDED[url].items() if rows}


def _tables(conn) -> list[str]:
    return conn.scalars(text("select tablename from pg_tables where schemaname = 'public' "
                             "and tablename not like 'alembic_version%'")).all()


def truncate_all(url: str) -> None:
    """Back to a fresh installation: every table emptied, then the migrations' seed rows put back."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(_tables(conn))} RESTART IDENTITY CASCADE"))
        for table, rows in _SEEDED.get(url, {}).items():
            conn.execute(Table(table, MetaData(), autoload_with=conn).insert(), rows)
    engine.dispose()


def engine_fixture(url_fixture: str, scope: str = "function"):
    """A fixture: an SQLAlchemy engine on the database whose URL the fixture `url_fixture` gives, disposed after."""

    @pytest.fixture(scope=scope)
    def engine(request):
        engine = create_engine(request.getfixturevalue(url_fixture))
        yield engine
        engine.dispose()

    return engine
