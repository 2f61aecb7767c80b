"""A fresh installation announces its seeded default pipeline, so subscribers know its stages from the start."""
import os

import pytest

from glassbox import migrations
from tests.support.contracts import validator
from tests.support.outbox import outbox_events


@pytest.mark.skipif(bool(os.environ.get("DEALS_DATABASE_URL")), reason="needs the embedded server for a scratch db")
def test_the_migrations_put_the_default_pipeline_created_event_in_the_outbox(postgres):
    url = postgres.ensure_database("deals_fresh_install")
    migrations.upgrade("deals", url)
    migrations.upgrade("deals", url)  # at head: nothing more

    [event] = outbox_events(url)
    assert event["type"] == "crm.pipeline.created.v1"
    assert not list(validator(event["type"]).iter_errors(event["payload"]))
    payload = event["payload"]
    assert payload["is_default"] is True and event["key"] == payload["pipeline_id"]
    assert [stage["name"] for stage in payload["stages"]] == [
        "Qualification", "Needs analysis", "Proposal", "Negotiation", "Contract"]
    assert [stage["sla_days"] for stage in payload["stages"]] == [7, 14, 10, 14, 7]
