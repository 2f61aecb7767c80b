"""gunicorn settings for every service (`glassbox serve <service>` passes this file)."""
import gc
import os

from prometheus_client import multiprocess

bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
# Metrics on a listener of their own (glassbox.metrics.MetricsListener), on the same host as the public one.
if int(os.environ.get("GLASSBOX_METRICS_PORT") or 0):
    bind.append(f"{bind[0].rpartition(':')[0]}:{os.environ['GLASSBOX_METRICS_PORT']}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gthread by default; gevent for a service whose open streams must not each hold a thread (its spec says so)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))  # per gevent worker
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = None  # request metrics and JSON app logs cover it
# gunicorn answers a longer request line with its own HTML page; the app refuses URIs longer than
# glassbox.web.hooks.MAX_URI_LENGTH (4096) with a 414 in the error shape, so this is set above it (8190 is
# gunicorn's highest limit but 0, which would be none).
limit_request_line = 8190
# Collections of the young generation once this many more container objects are alive than before (CPython's
# default: 700). A request's objects are freed by their reference counts; with 700, the collections in the middle of
# a large answer moved its live objects on to the older generations, and their number set off full collections, each
# walking every object the worker's caches had gathered (at 1M deals, +30 ms on every eighth /kpi/plans answer once
# the other KPIs had run; docs/benchmarks.md). Cyclic garbage is still collected, later.
YOUNG_GENERATION = 50_000


def post_worker_init(worker):
    from glassbox import logs, metrics

    service = os.environ.get("GLASSBOX_SERVICE", "service")
    logs.configure(service)
    metrics.GUNICORN_WORKERS.labels(service).set(1)
    # The app is loaded: its modules, schemas and mappers live as long as the worker. Frozen, they are left out of
    # every collection, so the full collections a large answer's objects set off walk what requests left behind only
    # (at 1M deals, a full collection over the loaded app paused a /kpi/plans answer by about 100 ms).
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION, *gc.get_threshold()[1:])


def child_exit(server, worker):
    # A dead worker's gauges must not linger in the multiprocess files.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
