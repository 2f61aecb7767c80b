"""Session fixtures: the servers (a real PostgreSQL and, for the tests that need it, a real Kafka broker, started
once and stopped at the end: embedded, or in containers when a Docker engine answers, chosen in
tests/support/servers.py), the suite's signing key and tokens, and each service's database migrated once.
`<SERVICE>_DATABASE_URL` and `KAFKA_BOOTSTRAP_SERVERS` point the suite at external servers instead. Each folder's
conftest.py holds the fixtures of its service; tests/support holds what folders share."""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.support")

from glassbox.config import JWT_AUDIENCE, JWT_ISSUER  # noqa: E402
from glassbox.keys import KeyRing, ensure_dev_keypair  # noqa: E402
from tests.support.database import migrate  # noqa: E402
from tests.support.http import Caller  # noqa: E402
from tests.support.servers import kafka_bootstrap, kafka_broker, postgres, test_infra  # noqa: E402,F401


@pytest.fixture(scope="session")
def workdir():
    # Not pytest's tmp_path: its 0700 parent is not traversable by the PostgreSQL system user.
    path = Path(tempfile.mkdtemp(prefix="glassbox-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(postgres):
    """database_url("clients") -> the URL of that service's database (`<SERVICE>_DATABASE_URL`, else one on the
    suite's server), migrated once per session: `migrate` remembers the rows a database holds as its seed
    (which truncate_all puts back), so a second migrate after tests wrote there would turn their rows into seed."""
    urls: dict[str, str] = {}

    def _url(service: str) -> str:
        if service not in urls:
            url = os.environ.get(f"{service.upper()}_DATABASE_URL") or postgres.ensure_database(service)
            migrate(url, service)
            urls[service] = url
        return urls[service]

    return _url


@pytest.fixture(scope="session")
def key_files(workdir) -> tuple[Path, Path]:
    """(private, public) PEM files of the suite's signing key."""
    return ensure_dev_keypair(workdir / "keys")


@pytest.fixture(scope="session")
def key_ring(key_files) -> KeyRing:
    return KeyRing.from_files(key_files[0])


@pytest.fixture(scope="session")
def make_token(key_ring):
    def _make(role: str, user_id: str | None = None, **kwargs) -> str:
        return key_ring.access_token(user_id or str(uuid.uuid4()), role, JWT_ISSUER, JWT_AUDIENCE, **kwargs)

    return _make


@pytest.fixture
def as_role(make_token):
    """as_role(client, "manager") -> a Caller with a fresh user id (or user_id=... for a known one)."""

    def _as(client, role: str, user_id: str | None = None) -> Caller:
        user_id = user_id or str(uuid.uuid4())
        return Caller(client, make_token(role, user_id), user_id, role)

    return _as
