from datetime import datetime, timedelta, timezone

from glassbox.demo import DEMO_USERS
from services.clients.consumers import USER_DEACTIVATED
from services.clients.demo import ACTIVITIES, ANNA, CAMPAIGNS, CARDS, SURVEYS, seed
from tests.support.clients import identity_event


def test_demo_seed_goes_through_the_use_cases_once(client, as_role, clients_db_url):
    assert seed(clients_db_url) == (f"created {len(DEMO_USERS)} demo users, {len(CAMPAIGNS)} campaigns, "
                                    f"{len(CARDS)} demo clients, {len(ACTIVITIES)} activities, "
                                    f"{len(SURVEYS)} surveys and a service case")
    assert seed(clients_db_url) == "demo data already present"
    anna, head = as_role(client, "manager", user_id=ANNA), as_role(client, "head_of_sales")
    assert anna.get("/api/v1/clients").json["total"] == sum(1 for owner, *_ in CARDS if owner == ANNA)
    assert anna.get("/api/v1/activities").json["total"] == sum(1 for owner, *_ in ACTIVITIES if owner == ANNA)
    assert anna.get("/api/v1/activities?overdue=true").json["total"] == 1
    assert head.get("/api/v1/activities?status=done").json["total"] == 2
    campaigns = head.get("/api/v1/campaigns").json["items"]
    assert {c["name"] for c in campaigns} == {name for name, *_ in CAMPAIGNS}
    expo = next(c for c in campaigns if c["name"] == "Metal Expo")
    assert anna.get(f"/api/v1/clients?campaign_id={expo['id']}").json["total"] == 1  # a lead attributed to it
    assert head.get("/api/v1/surveys").json["total"] == len(SURVEYS)
    assert head.get("/api/v1/service-cases?status=in_progress").json["total"] == 1


def test_a_real_identity_event_read_after_the_seed_still_wins(client, as_role, project, clients_db_url):
    seed(clients_db_url)
    head = as_role(client, "head_of_sales")
    anna_card = head.get("/api/v1/clients?q=Volga").json["items"][0]
    # Sent by the gateway an hour ago, read by the consumer only now: still newer than the seed's announcement.
    project(identity_event(USER_DEACTIVATED, ANNA, {"email": "anna.manager@glassbox.local", "role": "manager"},
                           time=datetime.now(timezone.utc) - timedelta(hours=1)))
    refused = head.post(f"/api/v1/clients/{anna_card['id']}/assign", json={"owner_id": ANNA})
    assert refused.status_code == 422
