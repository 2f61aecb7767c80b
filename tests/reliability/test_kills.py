"""kill -9, in turn and at random moments, of the clients and deals relays, the analytics consumer, a gunicorn
worker of the deals service and the clients service's gunicorn master, under a steady write load through the
gateway, each restarted at once. Afterwards nothing acknowledged is lost, every outbox row is on Kafka and the
analytics KPIs equal the databases' own count. GLASSBOX_RELIABILITY_KILLS sets how many kills (20 by default,
about a minute), GLASSBOX_RELIABILITY_SEED the random moments."""
import os
import random
import time
from collections import defaultdict

from tests.support.reliability import BacklogMonitor, poll, settle

KILLS = int(os.environ.get("GLASSBOX_RELIABILITY_KILLS", "20"))
TARGETS = ("relay:clients", "consume:analytics", "worker:serve:deals", "relay:deals", "serve:clients")


def kill_and_restart(system, target: str) -> float:
    """Kills the target; returns the seconds until it (or, for a worker, its master's new one) serves again."""
    if target.startswith("worker:"):
        server = target.removeprefix("worker:")
        killed = system.kill_worker(server)
        _, took = poll(lambda: [pid for pid in system.children(system.processes[server].popen.pid) if pid != killed]
                       and system._answers(system.processes[server]), 60, f"{server} to get a new worker",
                       interval=0.2)
        return took
    system.kill(target)
    return system.restart(target)


def test_kill_9_in_turn_under_write_load(system, head, load, figures):
    rng = random.Random(int(os.environ.get("GLASSBOX_RELIABILITY_SEED", "20261202")))
    recovery = defaultdict(list)
    with BacklogMonitor(system.database_url) as backlog, load:
        for number in range(KILLS):
            time.sleep(rng.uniform(0.3, 2.0))  # a random moment of the load
            target = TARGETS[number % len(TARGETS)]
            recovery[target].append(kill_and_restart(system, target))
        time.sleep(1)
    acknowledged = load.acknowledged
    assert acknowledged.writes > 0
    result = settle(system, head, acknowledged)
    figures["kill -9"] = {
        "kills": KILLS, "writes acknowledged (2xx)": acknowledged.writes,
        "answers not 2xx (incl. no answer)": sum(n for s, n in acknowledged.answers.items() if not 200 <= s < 300),
        "events on the topics": result["events"], "duplicates on the topics": result["duplicates"],
        "max outbox backlog": backlog.max, "drained after the load (s)": result["drained_s"],
        "KPIs agreed after (s)": result["agreed_s"],
        **{f"back after kill of {target} (s, max)": round(max(times), 1) for target, times in recovery.items()}}
