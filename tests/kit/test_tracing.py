"""OpenTelemetry tracing: on only when the standard OTEL_* variables ask for it, then a request yields spans (Flask,
SQLAlchemy); off, nothing of OpenTelemetry is even imported. Each case runs in its own interpreter, since a process
sets its tracer provider once."""
import json
import os
import subprocess
import sys

import pytest

from glassbox import tracing
from glassbox.config import PROJECT_ROOT

# A clients app on the test database answering one list request; the outcome as a JSON line on stderr.
SCRIPT = """
import json, os, sys
from services.clients import create_app
from pathlib import Path
app = create_app({"database_url": sys.argv[1], "jwt_public_key_file": Path(sys.argv[2]),
                  "kafka_bootstrap_servers": "127.0.0.1:9"})
from glassbox import tracing
answer = app.test_client().get("/api/v1/clients", headers={"Authorization": "Bearer " + os.environ["TEST_TOKEN"]})
print(json.dumps({"status": answer.status_code, "tracing": tracing.active(),
                  "imported": sorted({m.split(".")[1] for m in sys.modules if m.startswith("opentelemetry.")})}),
      file=sys.stderr)
"""


def run_app(clients_db_url, key_files, token, **otel) -> tuple[dict, list[dict]]:
    """(the script's outcome, the spans the console exporter printed) with these OTEL_* variables only."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    env.update(otel, TEST_TOKEN=token, PYTHONPATH=str(PROJECT_ROOT), LOG_LEVEL="WARNING")
    done = subprocess.run([sys.executable, "-c", SCRIPT, clients_db_url, str(key_files[1])], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stderr.strip().splitlines()[-1]), console_spans(done.stdout)


def console_spans(text: str) -> list[dict]:
    """The console exporter prints one indented JSON object per span, back to back."""
    decoder, spans, at = json.JSONDecoder(), [], 0
    while (at := text.find("{", at)) != -1:
        span, at = decoder.raw_decode(text, at)
        spans.append(span)
    return spans


def test_with_the_console_exporter_a_request_produces_server_and_database_spans(clients_db_url, key_files,
                                                                               make_token):
    outcome, spans = run_app(clients_db_url, key_files, make_token("manager"), OTEL_TRACES_EXPORTER="console")
    assert outcome["status"] == 200 and outcome["tracing"] is True
    [server] = [span for span in spans if span["kind"] == "SpanKind.SERVER"]
    assert server["name"] == "GET /api/v1/clients"
    assert server["attributes"]["http.status_code"] == 200
    assert server["resource"]["attributes"]["service.name"] == "clients"
    queries = [span for span in spans if span["attributes"].get("db.system") == "postgresql"]
    assert queries, [span["name"] for span in spans]
    # The statements ran inside the request: same trace, under its server span.
    assert {span["context"]["trace_id"] for span in queries} == {server["context"]["trace_id"]}


def test_without_otel_variables_nothing_is_set_up_or_imported(clients_db_url, key_files, make_token):
    outcome, spans = run_app(clients_db_url, key_files, make_token("manager"))
    assert outcome == {"status": 200, "tracing": False, "imported": []}
    assert spans == []


@pytest.mark.parametrize("environ, exporters", [
    ({}, []),
    ({"OTEL_TRACES_EXPORTER": "none"}, []),
    ({"OTEL_TRACES_EXPORTER": "console"}, ["console"]),
    ({"OTEL_TRACES_EXPORTER": "otlp,console"}, ["otlp", "console"]),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ["otlp"]),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, ["otlp"]),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none"}, []),
    ({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}, []),
])
def test_the_standard_variables_decide_whether_and_where_spans_go(environ, exporters):
    assert tracing.requested(environ) == exporters


def test_an_unknown_exporter_stops_the_start_naming_the_variable():
    with pytest.raises(ValueError, match="OTEL_TRACES_EXPORTER.*zipkin"):
        tracing.requested({"OTEL_TRACES_EXPORTER": "zipkin"})


def test_a_batch_span_is_a_no_op_while_tracing_is_off():
    assert not tracing.active()
    with tracing.batch_span("group process", [[("traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01")]]):
        pass
    assert "opentelemetry.sdk" not in sys.modules or tracing.active() is False
