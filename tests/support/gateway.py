"""The gateway in tests: its database and app (which signs tokens with the suite's key)."""
from __future__ import annotations

from tests.support.apps import app_fixture, database_fixture

PASSWORD = "correct horse battery staple"  # every test user's password unless told otherwise

gateway_db_url = database_fixture("gateway")
gateway_app = app_fixture("gateway", "gateway_db_url", signs_tokens=True)
