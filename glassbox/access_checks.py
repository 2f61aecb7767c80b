"""The check of who a valid access token stands for (still active, still that role; at the gateway also: the API
token not revoked), remembered per process for a fraction of a second: a caller's burst of requests (a page load, a
client's writes) costs one lookup instead of one each. A change made in this process (the gateway deactivating a
user or giving a new role, revoking an API token; a service's users projection applying an identity event) forgets
it at once; one made elsewhere (another worker, the users command, a consumer process) is seen within
MAX_AGE_SECONDS."""
from __future__ import annotations

import threading
import time
from typing import Callable

MAX_AGE_SECONDS = 0.5  # a deactivation or a role change bites at every worker within this (well under a second)
MAX_ENTRIES = 10_000  # callers seen within MAX_AGE_SECONDS; more means a flood, and the memory stays bounded
LOCK_STRIPES = 64  # one caller's concurrent requests wait for one check; different callers rarely share a stripe

_NOT_CACHED = object()


class RecentAccessChecks:
    def __init__(self, max_age: float = MAX_AGE_SECONDS, max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic):
        self.max_age, self.max_entries, self.clock = max_age, max_entries, clock
        self._checks: dict[tuple[str, str], tuple[float, str | None]] = {}
        self._lock = threading.Lock()
        self._checking = [threading.Lock() for _ in range(LOCK_STRIPES)]

    def refusal(self, user_id: str, role: str, check: Callable[[], str | None]) -> str | None:
        """Why `user_id` acting as `role` is refused (None: not refused), from a check at most max_age old."""
        key = (user_id, role)
        refusal = self._fresh(key)
        if refusal is not _NOT_CACHED:
            return refusal
        # A burst of one caller's requests finds the check too old at once: one of them asks the database (a
        # connection each would open the pool's overflow), the others wait for its answer.
        with self._checking[hash(key) % LOCK_STRIPES]:
            refusal = self._fresh(key)
            if refusal is not _NOT_CACHED:
                return refusal
            checked_at = self.clock()
            refusal = check()
            with self._lock:
                if len(self._checks) >= self.max_entries:
                    self._checks.clear()
                self._checks[key] = (checked_at, refusal)
            return refusal

    def _fresh(self, key: tuple[str, str]):
        checked_at, refusal = self._checks.get(key, (None, _NOT_CACHED))
        if refusal is not _NOT_CACHED and self.clock() - checked_at < self.max_age:
            return refusal
        return _NOT_CACHED

    def forget(self, subject_id: object) -> None:
        """This process just changed the user or API token: its next request is checked afresh."""
        subject = str(subject_id)
        with self._lock:
            for key in [key for key in self._checks if key[0] == subject]:
                del self._checks[key]


# One per process: a gunicorn worker's requests share it.
recent_access_checks = RecentAccessChecks()
