"""The consumer runner tells a database outage from an event's data error by SQLSTATE, on the real broker and
PostgreSQL: a lost connection is retried for as long as it lasts, the offset unmoved, nothing dead-lettered, the
event applied once; a data error (class 22, 23) goes to the DLQ after the bounded retries and the events behind it
are applied."""
import uuid

import psycopg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from glassbox.events import DomainEvent
from glassbox.inbox import database_outage
from glassbox.kafka import dlq_topic, ensure_topics
from tests.support.inbox import applied_times, counting_handler
from tests.support.kafka import consume_until_caught_up, publish, read_topic

CREATED = "crm.client.created.v1"


def fresh_topic(kafka_bootstrap) -> str:
    topic = f"test.db-errors.{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_bootstrap, topics=[topic], partitions=1)
    return topic


def created(client_id: str) -> DomainEvent:
    return DomainEvent(type=CREATED, source="/crm/clients", subject=client_id, data={"client_id": client_id})


def dead_letters(kafka_bootstrap, topic: str, expected: int) -> list:
    """The DLQ's records once `expected` are there; with none expected, what a few seconds of reading find."""
    return read_topic(kafka_bootstrap, dlq_topic(topic), max(expected, 1), lambda r: True, timeout=30 if expected else 5)


PIPELINED = pytest.mark.parametrize("pipelined", [False, True], ids=["at-once", "pipelined"])


@PIPELINED
def test_a_lost_connection_is_retried_until_the_database_answers_and_nothing_is_dead_lettered(
        engine, kafka_bootstrap, applied_table, pipelined):
    topic = fresh_topic(kafka_bootstrap)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    publish(kafka_bootstrap, topic, [created(first), created(second)])
    calls = []

    def handler(session, event):
        calls.append(event.id)
        if len(calls) <= 5:  # more often than the bounded retries allow: the server drops the connection
            session.execute(text("select pg_terminate_backend(pg_backend_pid())"))
        counting_handler(session, event)

    consume_until_caught_up(engine, kafka_bootstrap, [topic], {CREATED: handler}, "test-outage", pipelined=pipelined)
    assert len(calls) > 5
    assert applied_times(engine, first) == 1 and applied_times(engine, second) == 1
    assert dead_letters(kafka_bootstrap, topic, 0) == []


@PIPELINED
@pytest.mark.parametrize("statement, sqlstate_class", [
    ("select 1 / 0", "22"),  # division by zero: a data exception
    ("insert into test_applied (client_id, times) values ('same', 1), ('same', 1)", "23"),  # unique violation
])
def test_a_data_error_goes_to_the_dlq_after_the_bounded_retries(engine, kafka_bootstrap, applied_table, statement,
                                                                sqlstate_class, pipelined):
    topic = fresh_topic(kafka_bootstrap)
    poison, behind = str(uuid.uuid4()), str(uuid.uuid4())
    publish(kafka_bootstrap, topic, [created(poison), created(behind)])
    attempts = []

    def handler(session, event):
        if event.data["client_id"] == poison:
            attempts.append(event.id)
            session.execute(text(statement))
        counting_handler(session, event)

    consume_until_caught_up(engine, kafka_bootstrap, [topic], {CREATED: handler}, "test-data-error",
                            pipelined=pipelined)
    assert applied_times(engine, poison) is None and applied_times(engine, behind) == 1
    # (sent ahead, its error read when it settles,) the batch as a whole, then the event alone three times
    assert len(attempts) == pipelined + 1 + 3
    [letter] = dead_letters(kafka_bootstrap, topic, 1)
    assert dict(letter.headers)["ce_id"].decode() == attempts[0]
    assert dict(letter.headers)["dlq_error"].decode().startswith(("DataError", "IntegrityError"))


def wrapped(orig: Exception, kind=sa_exc.OperationalError) -> sa_exc.DBAPIError:
    return kind("select 1", {}, orig)


@pytest.mark.parametrize("error, outage", [
    (wrapped(psycopg.errors.lookup("08006")()), True),  # connection failure
    (wrapped(psycopg.errors.lookup("57P01")()), True),  # admin shutdown
    (wrapped(psycopg.errors.lookup("57P03")()), True),  # cannot connect now (starting up)
    (wrapped(psycopg.errors.lookup("53300")()), True),  # too many connections
    (wrapped(psycopg.errors.lookup("40P01")()), True),  # deadlock: retry the transaction
    (wrapped(psycopg.OperationalError("connection refused")), True),  # no SQLSTATE: the server never answered
    (sa_exc.TimeoutError("QueuePool limit reached"), True),
    (wrapped(psycopg.errors.lookup("22012")(), sa_exc.DataError), False),  # division by zero
    (wrapped(psycopg.errors.lookup("23505")(), sa_exc.IntegrityError), False),  # unique violation
    (wrapped(psycopg.errors.lookup("23503")(), sa_exc.IntegrityError), False),  # foreign key violation
    (wrapped(psycopg.errors.lookup("57014")()), False),  # a statement cancelled: this event's work took too long
    (ValueError("a handler's own check"), False),
])
def test_outages_are_told_from_the_events_faults_by_sqlstate(error, outage):
    assert database_outage(error) is outage
