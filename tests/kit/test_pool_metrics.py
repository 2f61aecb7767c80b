"""The database pool's saturation on /metrics: connections in use and the pool's capacity per database, on a real
PostgreSQL (the alert on pool saturation divides one by the other)."""
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.engine import make_url

from glassbox.db import make_engine


def pool_value(name: str, database: str) -> float:
    return REGISTRY.get_sample_value(name, {"database": database}) or 0.0


def test_connections_in_use_follow_checkouts_and_the_capacity_is_size_plus_overflow(clients_db_url):
    database = make_url(clients_db_url).database
    in_use_before = pool_value("db_pool_connections_in_use", database)
    capacity_before = pool_value("db_pool_connections_max", database)
    engine = make_engine(clients_db_url, pool_size=2, max_overflow=1)
    try:
        assert pool_value("db_pool_connections_max", database) == capacity_before + 3
        first, second = engine.connect(), engine.connect()
        first.execute(text("select 1"))
        assert pool_value("db_pool_connections_in_use", database) == in_use_before + 2
        first.close()
        assert pool_value("db_pool_connections_in_use", database) == in_use_before + 1
        second.invalidate()  # a broken connection is given back too, not counted as in use for ever
        second.close()
        assert pool_value("db_pool_connections_in_use", database) == in_use_before
    finally:
        engine.dispose()


def test_a_failed_checkout_leaves_nothing_counted_in_use(clients_db_url):
    broken_url = make_url(clients_db_url).set(password="not-the-password")
    database = broken_url.database
    before = pool_value("db_pool_connections_in_use", database)
    engine = make_engine(broken_url.render_as_string(hide_password=False))
    try:
        try:
            engine.connect()
        except Exception:
            pass
        else:
            raise AssertionError("a wrong password connected")
        assert pool_value("db_pool_connections_in_use", database) == before
    finally:
        engine.dispose()
