"""The browser tests' helpers: whether they can run here, the browser scenarios (web/e2e/scenarios.mjs,
playwright-core driving Debian's chromium) run one per call, and a demo user calling the API. Their system is
`glassbox.portshift.second_system` (`glassbox run --demo --port-offset N`, as the web benchmark starts it)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import requests

from glassbox.config import PROJECT_ROOT
from glassbox.demo import DEMO_PASSWORD

WEB = PROJECT_ROOT / "web"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def missing_prerequisite() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM} (apt-get install chromium)"
    if shutil.which("node") is None:
        return "no node"
    if not (WEB / "node_modules" / "playwright-core").is_dir() or not (WEB / "dist" / "index.html").is_file():
        return "the web app is not installed and built (make test does it: npm ci, npm run build)"
    return None









def scenario(name: str, **arguments) -> dict:
    """Run one browser scenario; its JSON result, or the test fails with what it printed."""
    result = subprocess.run(["node", "e2e/scenarios.mjs", name, json.dumps(arguments)], cwd=WEB,
                            capture_output=True, text=True, timeout=180, env={**os.environ, "CHROMIUM": CHROMIUM})
    assert result.returncode == 0, f"{name}: {result.stderr[-4000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


class ApiUser:
    """A demo user calling the gateway's API directly (to prepare and to check what the browser did)."""

    def __init__(self, gateway: str, email: str):
        self.gateway, self.email = gateway, email
        answer = requests.post(f"{gateway}/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD},
                               timeout=10)
        assert answer.status_code == 200, answer.text
        self.headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def call(self, method: str, path: str, expect=(200, 201), **kwargs) -> dict:
        answer = requests.request(method, f"{self.gateway}/api/v1{path}", headers=self.headers, timeout=30, **kwargs)
        assert answer.status_code in expect, (method, path, answer.status_code, answer.text)
        return answer.json()

    def eventually(self, path: str, done, timeout: float = 60) -> dict:
        """GET `path` until `done(body)` holds (a read model following the events)."""
        deadline = time.monotonic() + timeout
        while not done(body := self.call("GET", path)):
            assert time.monotonic() < deadline, (path, body)
            time.sleep(0.5)
        return body
