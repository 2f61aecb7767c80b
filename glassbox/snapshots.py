"""Reading in parallel within one snapshot: `alongside(session, work)` runs `work(other_session)` in a worker thread
on a second pooled connection whose REPEATABLE READ transaction imports the snapshot of `session`'s
(pg_export_snapshot / SET TRANSACTION SNAPSHOT), so both see exactly the same committed data while PostgreSQL works
on two statements at once. For the large read-only questions whose independent statements take tens of ms each.

`session` must be in a REPEATABLE READ (or SERIALIZABLE) transaction that has written nothing: the imported
snapshot does not see the exporter's own changes. Its result is `.result()`; the thread is always joined, and the
second connection returned to the pool, before the `with` block is left. The engine's pool must hold two
connections per request thread (glassbox.db.make_engine: 5 + 10 overflow)."""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import copy_context
from typing import Callable, Iterator, TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session

T = TypeVar("T")

# One reader per request thread of a gunicorn worker (gunicorn_conf.py: 4 threads); more requests wait their turn.
_WORKERS = 4
_executor: ThreadPoolExecutor | None = None
_executor_pid: int | None = None
_creating = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """The process's worker threads (created after a fork: gunicorn's workers each get their own)."""
    global _executor, _executor_pid
    with _creating:
        if _executor is None or _executor_pid != os.getpid():
            _executor, _executor_pid = ThreadPoolExecutor(_WORKERS, thread_name_prefix="snapshot-reader"), os.getpid()
        return _executor


def _run(engine, snapshot: str, settings: dict[str, str], work: Callable[[Session], T]) -> T:
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        # the transaction's first statement, as PostgreSQL requires; an identifier it made, quoted all the same
        connection.exec_driver_sql("SET TRANSACTION SNAPSHOT '%s'" % snapshot.replace("'", "''"))
        for name, value in settings.items():  # SET LOCAL: for this transaction only
            connection.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})
        with Session(bind=connection) as session:
            try:
                answer = work(session)
            except BaseException:
                connection.rollback()
                raise
            # COMMIT, not ROLLBACK (it wrote nothing): psycopg forgets the connection's prepared statements at a
            # ROLLBACK
            connection.commit()
            return answer


@contextmanager
def alongside(session: Session, work: Callable[[Session], T], settings: dict[str, str] | None = None
              ) -> Iterator[Future]:
    """A future of `work(session_on_the_same_snapshot)`, running while the block runs; `settings` are run-time
    parameters (e.g. {"work_mem": "32MB"}) for the other transaction."""
    snapshot, isolation = session.connection().exec_driver_sql(
        "SELECT pg_export_snapshot(), current_setting('transaction_isolation')").one()
    if isolation not in ("repeatable read", "serializable"):
        raise ValueError(f"a snapshot to share needs a REPEATABLE READ transaction, not {isolation}")
    future = _pool().submit(copy_context().run, _run, session.get_bind(), snapshot, settings or {}, work)
    try:
        yield future
    finally:
        future.exception()  # wait for it: the snapshot lives only as long as `session`'s transaction
