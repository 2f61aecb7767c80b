"""Housekeeping: the kit's tables lose their rows after their retention (sent outbox rows, idempotency keys, the
inbox), in batches, never a row still needed (an unsent event, a fresh key); a service's own purge runs with them;
a bad retention setting stops the process with a message naming the variable."""
import uuid

import pytest
from sqlalchemy import create_engine, text

from glassbox import retention


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url("clients"))
    yield engine
    engine.dispose()


def seed(engine, age: str) -> dict:
    """One row of each kit table, `age` old (an SQL interval), plus an old unsent outbox row; returns their keys."""
    keys = {"event": str(uuid.uuid4()), "unsent": str(uuid.uuid4()), "key": str(uuid.uuid4()),
            "inbox": str(uuid.uuid4())}
    with engine.begin() as conn:
        for event_id, sent in ((keys["event"], f"now() - interval '{age}'"), (keys["unsent"], "null")):
            conn.execute(text("insert into outbox_messages (id, topic, key, type, source, time, payload, created_at,"
                              f" sent_at) values (:id, 't', 'k', 'x', '/s', now(), '{{}}', now() - interval '{age}',"
                              f" {sent})"), {"id": event_id})
        conn.execute(text("insert into idempotency_keys (principal, key, request_hash, created_at) "
                          f"values ('p', :key, 'h', now() - interval '{age}')"), {"key": keys["key"]})
        conn.execute(text("insert into processed_events (consumer, event_id, event_type, processed_at) "
                          f"values ('c', :id, 'x', now() - interval '{age}')"), {"id": keys["inbox"]})
    return keys


def present(engine, keys: dict) -> set[str]:
    with engine.connect() as conn:
        found = set(conn.scalars(text("select id from outbox_messages where id in (:a, :b)"),
                                 {"a": keys["event"], "b": keys["unsent"]}))
        found |= set(conn.scalars(text("select key from idempotency_keys where key = :k"), {"k": keys["key"]}))
        found |= set(conn.scalars(text("select event_id from processed_events where event_id = :e"),
                                  {"e": keys["inbox"]}))
    return {name for name, value in keys.items() if value in found}


def test_rows_past_their_retention_go_and_the_others_stay(engine):
    ancient, recent, yesterday = seed(engine, "40 days"), seed(engine, "1 hour"), seed(engine, "2 days")
    retention.purge(engine, "clients")
    assert present(engine, ancient) == {"unsent"}  # an unsent event is never purged, however old
    assert present(engine, recent) == {"event", "unsent", "key", "inbox"}
    assert present(engine, yesterday) == {"event", "unsent", "inbox"}  # keys last a day, the inbox 30


def test_retentions_come_from_the_environment(engine, monkeypatch):
    keys = seed(engine, "2 days")
    monkeypatch.setenv("IDEMPOTENCY_KEY_RETENTION_DAYS", "3")
    monkeypatch.setenv("PROCESSED_EVENT_RETENTION_DAYS", "1.5")
    monkeypatch.setenv("OUTBOX_SENT_RETENTION_DAYS", "1")
    retention.purge(engine, "clients")
    assert present(engine, keys) == {"unsent", "key"}


@pytest.mark.parametrize("value", ["0", "-1", "a week", ""])
def test_a_bad_retention_names_its_variable(engine, monkeypatch, value):
    monkeypatch.setenv("IDEMPOTENCY_KEY_RETENTION_DAYS", value)
    with pytest.raises(ValueError, match="IDEMPOTENCY_KEY_RETENTION_DAYS"):
        retention.purge(engine, "clients")


def test_a_big_backlog_goes_in_batches(engine, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 3)
    with engine.begin() as conn:
        conn.execute(text("insert into processed_events (consumer, event_id, event_type, processed_at) "
                          "select 'batch', g::text, 'x', now() - interval '60 days' from generate_series(1, 10) g"))
    assert retention.purge_older(engine, "processed_events", "processed_at", retention.retention("X", 30)) >= 10
    with engine.connect() as conn:
        assert conn.scalar(text("select count(*) from processed_events where consumer = 'batch'")) == 0
