"""An open-loop load at a fixed rate, far below saturation: the latency a request meets when nothing queues.
Each of `connections` keep-alive connections sends on its own schedule (rate / connections per second, offset from
the others); a request's latency runs from its scheduled time, so a late send counts against the server too."""
from __future__ import annotations

import http.client
import threading
import time


def paced_latencies(port: int, paths: list[str], token: str, rate: float, seconds: float,
                    connections: int = 4) -> dict:
    """{"latencies_ms": [...], "errors": n, "requests": n, "rate": achieved requests/s}."""
    interval = connections / rate
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.perf_counter() + 0.2
    count = int(seconds * rate / connections)

    def run(worker: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine, bad = [], 0
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        for i in range(count):
            due = start + (i + worker / connections) * interval
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                conn.request("GET", paths[(i * connections + worker) % len(paths)], headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    bad += 1
            except OSError:
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            mine.append((time.perf_counter() - due) * 1000)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=run, args=(w,)) for w in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return {"latencies_ms": sorted(latencies), "errors": errors[0], "requests": len(latencies),
            "rate": len(latencies) / elapsed}
