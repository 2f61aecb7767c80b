"""Analytics replayed from the topics twice (`glassbox analytics rebuild`, with the consumer stopped as
docs/operations.md says) gives identical KPIs, equal to the databases' own count."""
import json
import signal

from tests.support.reliability import counted_from_databases, kpis, settle


def test_analytics_rebuilt_twice_gives_identical_kpis(system, head, figures):
    settled = settle(system, head, acknowledged=_nothing())
    consumer = system.processes["consume:analytics"].popen
    consumer.send_signal(signal.SIGTERM)
    consumer.wait(timeout=30)
    try:
        runs = []
        for _ in range(2):
            replayed = json.loads(system.glassbox("analytics", "rebuild"))
            runs.append((replayed, kpis(system.urls["gateway"], head)))
    finally:
        system.restart("consume:analytics")
    (first, first_kpis), (second, second_kpis) = runs
    assert first_kpis == second_kpis == counted_from_databases(system.database_url) == settled["kpis"]
    assert first["events"] == second["events"]
    figures["analytics rebuild"] = {"events replayed": second["events"],
                                    "seconds (first, second)": f"{first['seconds']}, {second['seconds']}"}


def _nothing():
    from tests.support.reliability import Acknowledged

    return Acknowledged()
