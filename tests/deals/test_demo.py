"""The demo seed: deals in every state on the clients demo's cards, through the use cases, once."""
from glassbox.demo import DEMO_USERS, demo_record_id
from services.clients import demo as clients_demo
from services.deals.demo import ANNA, BORIS, CAMPAIGNS, CLIENTS, DEALS, seed
from tests.support.contracts import validator
from tests.support.outbox import outbox_events


def test_the_seed_opens_deals_in_every_state_once(deals, as_role, deals_db_url):
    assert seed(deals_db_url) == (f"created {len(DEMO_USERS)} demo users, {len(CLIENTS)} demo clients in the "
                                  f"projection, {len(CAMPAIGNS)} demo campaigns in the projection, the Onboarding "
                                  f"stage, {len(DEALS)} demo deals, 4 demo sales plans, 1 demo commission scheme")
    assert seed(deals_db_url) == "demo data already present"
    head, anna = as_role(deals, "head_of_sales"), as_role(deals, "manager", user_id=ANNA)
    assert head.get("/api/v1/deals").json["total"] == len(DEALS)
    assert anna.get("/api/v1/deals").json["total"] == sum(1 for owner, *_ in DEALS if owner == ANNA)
    assert {status: head.get(f"/api/v1/deals?status={status}").json["total"] for status in ("open", "won", "lost")} \
        == {"open": 6, "won": 2, "lost": 2}
    [stalled] = head.get("/api/v1/deals?stalled=true").json["items"]
    [past_due] = head.get("/api/v1/deals?past_due=true").json["items"]
    assert (stalled["title"], past_due["title"]) == ("Warehouse automation", "Personal investment consulting")
    open_stages = {deal["stage_name"] for deal in head.get("/api/v1/deals?status=open").json["items"]}
    assert len(open_stages) >= 4
    lost = head.get("/api/v1/deals?status=lost").json["items"]
    assert {deal["lost_reason_name"] for deal in lost} == {"Chose a competitor", "Price too high"}
    assert {deal["amount"]["currency"] for deal in head.get("/api/v1/deals?limit=200").json["items"]} == {"RUB"}
    pumps = head.get("/api/v1/deals?q=Irrigation").json["items"][0]
    assert [entry["stage_name"] for entry in head.get(f"/api/v1/deals/{pumps['id']}/history").json["items"]] == [
        "Qualification", "Needs analysis", "Proposal", "Negotiation", "Contract"]
    assert pumps["client_id"] == demo_record_id("client", "Ural Agro Holding")
    board = as_role(deals, "manager", user_id=BORIS).get(f"/api/v1/pipelines/{pumps['pipeline_id']}/board").json
    assert board["won"]["count"] == 1 and board["lost"]["count"] == 1

    # What the seed emitted is what analytics will read: every event valid against its schema.
    emitted = outbox_events(deals_db_url)
    assert len([e for e in emitted if e["type"].startswith("crm.deal.")]) == sum(len(plan) for *_, plan in DEALS)
    for event in emitted:
        assert not list(validator(event["type"]).iter_errors(event["payload"])), event["type"]


def test_the_seed_sets_plans_for_this_month_and_the_next_and_one_scheme(deals, as_role, deals_db_url, clock):
    seed(deals_db_url)  # the clock is at T0, 2026-03-02
    head, anna = as_role(deals, "head_of_sales"), as_role(deals, "manager", user_id=ANNA)
    plans = head.get("/api/v1/sales-plans").json["items"]
    assert sorted((p["manager_id"], p["period"]) for p in plans) == sorted(
        (manager, period) for manager in (ANNA, BORIS) for period in ("2026-03", "2026-04"))
    assert {p["period"] for p in anna.get("/api/v1/sales-plans").json["items"]} == {"2026-03", "2026-04"}
    [scheme] = anna.get("/api/v1/commission-schemes").json["items"]
    [version] = scheme["versions"]
    assert version["valid_from"] == "2026-03-01" and sorted(version["manager_ids"]) == sorted([ANNA, BORIS])
    assert [(t["from_pct"], t["to_pct"]) for t in version["tiers"]] == [("0", "80"), ("80", "100"), ("100", None)]


def test_the_demo_clients_are_the_clients_demos_cards():
    """Services never import each other, so the deals demo repeats the clients demo's cards; they must agree."""
    cards = {card["name"]: (owner, card.get("industry"), card.get("region"), card.get("status", "prospect"),
                            clients_demo.CAMPAIGN_OF.get(card["name"]))
             for owner, card, _ in clients_demo.CARDS}
    assert CLIENTS == cards
    campaigns = {name for name, *_ in clients_demo.CAMPAIGNS}
    assert {campaign for *_, campaign, _ in DEALS if campaign} <= campaigns


def test_the_seed_leaves_a_hand_off_in_the_head_of_sales_accountant_and_service_queues(deals, as_role, deals_db_url):
    seed(deals_db_url)
    queues = {role: [(h["deal_title"], h["stage_name"]) for h in
                     as_role(deals, role).get(f"/api/v1/hand-offs?state=open&role={role}").json["items"]]
              for role in ("head_of_sales", "accountant", "service")}
    assert queues == {"head_of_sales": [("Personal investment consulting", "Negotiation")],
                      "accountant": [("CRM integration", "Contract")],
                      "service": [("Rolling mill service plan", "Onboarding")]}
