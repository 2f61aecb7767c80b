"""A pooled connection is pinged before use only when it sat idle (glassbox.db.ping_when_idle), on a real
PostgreSQL: one the server dropped while it was idle is replaced before the request uses it; one in steady use is
not pinged (a connection dropped a moment ago fails its next statement, which the ping would have caught)."""
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from glassbox.db import ping_when_idle


def _engine(url: str, idle_seconds: float):
    engine = create_engine(url, pool_size=1, max_overflow=0)
    ping_when_idle(engine, idle_seconds)
    return engine


def _drop_the_pooled_connection(engine) -> int:
    """The server ends the backend of the pool's one connection, while that connection sits in the pool."""
    with engine.connect() as conn:
        pid = conn.execute(text("select pg_backend_pid()")).scalar_one()
    with create_engine(engine.url).connect() as other:
        assert other.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    return pid


def test_a_connection_dropped_while_idle_is_replaced_before_use(clients_db_url):
    engine = _engine(clients_db_url, idle_seconds=0.2)
    try:
        dropped = _drop_the_pooled_connection(engine)
        time.sleep(0.3)
        with engine.connect() as conn:
            assert conn.execute(text("select pg_backend_pid()")).scalar_one() != dropped
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(clients_db_url):
    engine = _engine(clients_db_url, idle_seconds=60)
    try:
        _drop_the_pooled_connection(engine)
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.execute(text("select 1"))
        with engine.connect() as conn:  # the pool threw the dead one away
            assert conn.execute(text("select 1")).scalar_one() == 1
    finally:
        engine.dispose()
