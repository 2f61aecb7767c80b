"""glassbox.snapshots on a real PostgreSQL: the work alongside a session reads that session's snapshot (not what was
committed since), with its own run-time settings, on a pooled connection given back unchanged; its error reaches
the caller, the block always waits for it, and a session without a repeatable snapshot is refused."""
import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from glassbox.snapshots import alongside


@pytest.fixture
def engine(clients_db_url):
    engine = create_engine(clients_db_url, pool_size=2)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE kit_snapshot_probes (n int)"))
        conn.execute(text("INSERT INTO kit_snapshot_probes VALUES (1), (2)"))
    yield engine
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE kit_snapshot_probes"))
    engine.dispose()


def repeatable(engine) -> Session:
    session = Session(engine)
    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    return session


def count(session: Session) -> int:
    return session.scalar(text("SELECT count(*) FROM kit_snapshot_probes"))


def test_the_work_alongside_sees_the_sessions_snapshot_not_later_commits(engine):
    with repeatable(engine) as session:
        assert count(session) == 2  # the snapshot is taken
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO kit_snapshot_probes VALUES (3)"))
        with alongside(session, count) as reading:
            assert reading.result() == 2
        assert count(session) == 2
    with Session(engine) as fresh:
        assert count(fresh) == 3


def test_the_snapshot_is_the_sessions_even_when_its_first_statement_exports_it(engine):
    inserted = threading.Event()

    def count_after_the_insert(other: Session) -> int:
        assert inserted.wait(5)
        return count(other)

    with repeatable(engine) as session:
        with alongside(session, count_after_the_insert) as reading:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO kit_snapshot_probes VALUES (3)"))
            inserted.set()
            assert count(session) == reading.result() == 2


def test_settings_hold_for_the_works_transaction_only(engine):
    def settings(other: Session):
        return other.scalar(text("SELECT current_setting('work_mem')")), other.scalar(
            text("SELECT current_setting('transaction_isolation')"))

    with repeatable(engine) as session:
        with alongside(session, settings, {"work_mem": "7MB"}) as reading:
            assert reading.result() == ("7MB", "repeatable read")
    with engine.connect() as conn:  # the pooled connections are back to their defaults
        for _ in range(2):
            assert conn.scalar(text("SELECT current_setting('work_mem')")) != "7MB"


def test_an_error_of_the_work_reaches_the_caller_and_the_connection_goes_back(engine):
    def failing(other: Session):
        other.execute(text("SELECT * FROM no_such_table"))

    with repeatable(engine) as session:
        with alongside(session, failing) as reading:
            with pytest.raises(Exception, match="no_such_table"):
                reading.result()
        assert count(session) == 2  # the session's own transaction is untouched
    assert engine.pool.checkedout() == 0


def test_the_block_waits_for_the_work_even_when_it_raises(engine):
    started, release, finished = threading.Event(), threading.Event(), []

    def slow(other: Session):
        started.set()
        release.wait(5)
        finished.append(count(other))

    with repeatable(engine) as session:
        with pytest.raises(RuntimeError, match="the block failed"):
            with alongside(session, slow):
                assert started.wait(5)
                threading.Timer(0.2, release.set).start()
                raise RuntimeError("the block failed")
        assert finished == [2]  # the work ended, on the snapshot, before the block was left


def test_a_session_without_a_repeatable_snapshot_is_refused(engine):
    ran = []
    with Session(engine) as session:  # READ COMMITTED: each statement its own snapshot
        with pytest.raises(ValueError, match="REPEATABLE READ"):
            with alongside(session, ran.append):
                pass
    assert ran == []


def test_the_work_alongside_keeps_its_connections_prepared_statements(engine):
    """It ends with COMMIT: at a ROLLBACK psycopg deallocates every prepared statement of the connection, so the same
    statements would be parsed and planned afresh on every request."""
    probe = "SELECT count(*) FROM kit_snapshot_probes"

    def count_and_look_for_it(other: Session) -> int:
        other.scalar(text(probe))
        return other.scalar(text("SELECT count(*) FROM pg_prepared_statements WHERE statement = :probe"),
                            {"probe": probe})

    for _ in range(20):  # psycopg prepares a statement at its sixth run on a connection; two connections take turns
        with repeatable(engine) as session:
            with alongside(session, count_and_look_for_it) as reading:
                prepared = reading.result()
            session.commit()  # as the KPI reads do, so the session's ROLLBACK does not clear them either
    assert prepared == 1
