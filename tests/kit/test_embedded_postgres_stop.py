"""Stopping the embedded PostgreSQL when its shutdown checkpoint does not finish in time (a busy box): it is
stopped immediately instead, and the next start recovers what was committed."""
import subprocess
from pathlib import Path

from glassbox.infra.postgres import EmbeddedPostgres
from tests.support.http import free_port


def test_a_stop_that_times_out_falls_back_to_an_immediate_stop(workdir: Path, monkeypatch):
    server = EmbeddedPostgres(workdir / "stop-test" / "data", port=free_port())
    server.start()
    try:
        with server._connect() as conn:
            conn.execute("CREATE TABLE kept (n int)")
            conn.execute("INSERT INTO kept VALUES (42)")
        real_stop, modes = server._pg_ctl_stop, []

        def slow_fast_stop(mode, timeout):
            modes.append(mode)
            if mode == "fast":  # as pg_ctl answers when the checkpoint outlasts -t
                return subprocess.CompletedProcess([], 1, "waiting for server to shut down... failed\n", "")
            return real_stop(mode, timeout)

        monkeypatch.setattr(server, "_pg_ctl_stop", slow_fast_stop)
        server.stop(timeout=5)
        assert modes == ["fast", "immediate"] and not server.is_running()
        monkeypatch.undo()
        server.start()
        with server._connect() as conn:
            assert conn.execute("SELECT n FROM kept").fetchall() == [(42,)]
    finally:
        server.stop()
