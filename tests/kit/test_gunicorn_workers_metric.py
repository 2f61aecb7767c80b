"""The gunicorn workers gauge in multiprocess mode, as /metrics of a served service collects it: each worker that
started counts once, and a worker gunicorn has buried no longer counts."""
import os
import subprocess
import sys

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from glassbox.config import PROJECT_ROOT

START_A_WORKER = """
import os
from glassbox import gunicorn_conf
gunicorn_conf.post_worker_init(None)
print(os.getpid())
"""


def start_worker(metrics_dir) -> int:
    """A process that runs the worker start hook the way a gunicorn worker does, then exits; returns its pid."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "GLASSBOX_SERVICE": "probe",
           "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run([sys.executable, "-c", START_A_WORKER], env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    return int(done.stdout.split()[-1])


def live_workers(metrics_dir) -> float | None:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))
    return registry.get_sample_value("gunicorn_workers", {"service": "probe"})


def test_workers_add_up_and_a_dead_one_drops_out(tmp_path, monkeypatch):
    from glassbox import gunicorn_conf

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the gunicorn master's environment
    first, second = start_worker(tmp_path), start_worker(tmp_path)
    assert live_workers(tmp_path) == 2
    gunicorn_conf.child_exit(None, type("Worker", (), {"pid": first})())
    assert live_workers(tmp_path) == 1
    gunicorn_conf.child_exit(None, type("Worker", (), {"pid": second})())
    assert not live_workers(tmp_path)
