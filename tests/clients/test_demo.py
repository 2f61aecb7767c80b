from services.clients.demo import ANNA, CARDS, seed


def test_demo_seed_goes_through_the_use_cases_once(client, as_role, clients_db_url):
    assert seed(clients_db_url) == f"{len(CARDS)} demo clients created"
    assert seed(clients_db_url) == "demo data already present"
    anna = as_role(client, "manager", user_id=ANNA)
    assert anna.get("/api/v1/clients").json["total"] == sum(1 for owner, *_ in CARDS if owner == ANNA)
