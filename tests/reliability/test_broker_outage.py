"""The broker stopped and started again under the write load: the services keep acknowledging writes (the outbox
absorbs them), the backlog written until the broker returns is published within 60 s of its return, and afterwards
the same equality as after the kills. GLASSBOX_RELIABILITY_BROKER_DOWN sets how long it stays down (30 s in the
full run; the CI default is shorter: what is tested, writes piling up in the outboxes and draining, does not
depend on the length, only the backlog's size does)."""
import os
import time

import pytest

from tests.support.reliability import BacklogMonitor, OUTBOX_SERVICES, poll, scalar, settle

BROKER_DOWN = float(os.environ.get("GLASSBOX_RELIABILITY_BROKER_DOWN", "15"))


def unsent_up_to(system, positions: dict[str, int]) -> int:
    """Rows still unsent among those written before the broker returned (the backlog to drain)."""
    return sum(scalar(system.database_url(service), "select count(*) from outbox_messages where sent_at is null "
                      "and parked_at is null and position <= :last", last=last)[0][0]
               for service, last in positions.items())


def test_the_broker_stopped_and_restarted_under_write_load(system, head, load, figures):
    with BacklogMonitor(system.database_url) as backlog, load:
        time.sleep(2)
        before = load.acknowledged.writes
        system.kafka.stop()
        try:
            time.sleep(BROKER_DOWN)
            acknowledged_while_down = load.acknowledged.writes - before
            positions = {service: scalar(system.database_url(service),
                                         "select coalesce(max(position), 0) from outbox_messages")[0][0]
                         for service in OUTBOX_SERVICES}
            backlog_at_return = unsent_up_to(system, positions)
            returned = time.monotonic()
        finally:
            system.kafka.start()
        # From the moment it is started again (its own start-up included) to the backlog's last row published.
        poll(lambda: unsent_up_to(system, positions) == 0, 60 - (time.monotonic() - returned),
             "the backlog written while the broker was down to be published")
        drained = time.monotonic() - returned
        time.sleep(2)  # the same load, with the broker back
    assert acknowledged_while_down > 0, "no write succeeded while the broker was down"
    result = settle(system, head, load.acknowledged)
    figures["broker down"] = {
        "seconds down": BROKER_DOWN, "writes acknowledged while down": acknowledged_while_down,
        "backlog when it returned": backlog_at_return, "max outbox backlog": backlog.max,
        "backlog published after the broker was started (s)": round(drained, 1),
        "writes acknowledged (2xx)": load.acknowledged.writes,
        "events on the topics": result["events"], "duplicates on the topics": result["duplicates"],
        "KPIs agreed after (s)": result["agreed_s"]}
