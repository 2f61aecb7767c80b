"""Tracing on the real broker: with OTEL_TRACES_EXPORTER set, the relay's sends are producer spans (kafka-python's
instrumentation), each record carries the span's `traceparent`, and a consumer's batch span links to it."""
import json
import os
import subprocess
import sys

from glassbox.config import PROJECT_ROOT
from tests.support.clients import CARD
from tests.support.kafka import read_topic

# The clients relay, traced, publishing what the outbox holds; the spans go to stdout.
RELAY = """
import sys
from glassbox import tracing
from glassbox.db import make_engine
from glassbox.kafka import make_producer
from glassbox.outbox import OutboxRelay
engine = make_engine(sys.argv[1])
assert tracing.setup("clients-relay", engine=engine)
relay = OutboxRelay(engine, "clients", lambda: make_producer(sys.argv[2]))
print("published", relay.publish_batch(), file=sys.stderr)
relay._drop_producer()
# What the consumer runner does around a polled batch, on the record just sent.
from tests.support.kafka import read_topic
[record] = read_topic(sys.argv[2], "crm.clients.events", 1, lambda r: r.key == sys.argv[3].encode())
with tracing.batch_span("clients process", [record.headers]):
    pass
"""


def test_a_traced_relay_sends_producer_spans_and_traceparent_headers(manager, clients_db_url, kafka_bootstrap):
    card = manager.post("/api/v1/clients", json=CARD).json
    env = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    env.update(OTEL_TRACES_EXPORTER="console", PYTHONPATH=str(PROJECT_ROOT), LOG_LEVEL="WARNING")
    done = subprocess.run([sys.executable, "-c", RELAY, clients_db_url, kafka_bootstrap, card["id"]], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "published 1" in done.stderr, done.stderr
    decoder, spans, at = json.JSONDecoder(), [], 0
    while (at := done.stdout.find("{", at)) != -1:
        span, at = decoder.raw_decode(done.stdout, at)
        spans.append(span)
    [send] = [span for span in spans if span["kind"] == "SpanKind.PRODUCER"]
    assert send["name"] == "crm.clients.events send"
    [record] = read_topic(kafka_bootstrap, "crm.clients.events", 1, lambda r: r.key == card["id"].encode())
    traceparent = dict(record.headers)["traceparent"].decode()
    assert traceparent.split("-")[1:3] == [send["context"]["trace_id"][2:], send["context"]["span_id"][2:]]
    # Reading the topic back by iteration is traced by kafka-python's instrumentation ("... receive" spans);
    # the runner's poll is not, hence its own batch span.
    [batch] = [span for span in spans if span["name"] == "clients process"]
    assert batch["kind"] == "SpanKind.CONSUMER"
    assert [link["context"]["span_id"] for link in batch["links"]] == [send["context"]["span_id"]]
