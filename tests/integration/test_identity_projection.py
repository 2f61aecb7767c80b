"""The identity projection on the real broker: users announced on crm.identity.events become (or stop being)
assignable in the clients service once its consumer has read them, duplicates and late events included."""
from datetime import datetime, timedelta, timezone

from services.clients.consumers import HANDLERS, IDENTITY_TOPIC as TOPIC, USER_CREATED, USER_DEACTIVATED, USER_UPDATED
from tests.support.clients import create, identity_event
from tests.support.kafka import consume_until_caught_up, publish


def profile(user_id: str, name: str, **changes) -> dict:
    return {"email": f"{name.lower()}@glassbox.example", "full_name": name, "role": "manager", "team_id": None,
            "is_active": True, "created_at": "2026-03-01T09:00:00Z", "actor_id": user_id, **changes}


def test_announced_managers_become_assignable_and_deactivated_ones_do_not(client, as_role, head, engine,
                                                                          kafka_bootstrap):
    newcomer, leaver = as_role(client, "manager"), as_role(client, "manager")
    now = datetime.now(timezone.utc)
    created = identity_event(USER_CREATED, newcomer.user_id, profile(newcomer.user_id, "Newcomer"), now)
    leaver_created = identity_event(USER_CREATED, leaver.user_id, profile(leaver.user_id, "Leaver"), now)
    deactivated = identity_event(USER_DEACTIVATED, leaver.user_id, {"email": "leaver@glassbox.example",
                                                                "role": "manager"}, now + timedelta(seconds=2))
    # Sent before the deactivation, read after it (a re-driven DLQ record, say): it must not resurrect her.
    late_update = identity_event(USER_UPDATED, leaver.user_id, {**profile(leaver.user_id, "Leaver B."),
                                                            "changed_fields": ["full_name"]},
                             now + timedelta(seconds=1))
    publish(kafka_bootstrap, TOPIC, [created, created, leaver_created, deactivated, late_update])

    consume_until_caught_up(engine, kafka_bootstrap, [TOPIC], HANDLERS, "test-identity-projection")

    card = create(head)
    assigned = head.post(f"/api/v1/clients/{card['id']}/assign", json={"owner_id": newcomer.user_id})
    assert assigned.status_code == 200 and assigned.json["owner_id"] == newcomer.user_id
    assert newcomer.get(f"/api/v1/clients/{card['id']}").status_code == 200
    refused = head.post(f"/api/v1/clients/{card['id']}/assign", json={"owner_id": leaver.user_id})
    assert refused.status_code == 422 and "owner_id" in refused.json["errors"]["json"]
    with engine.connect() as conn:
        applied = conn.exec_driver_sql(
            "select count(*) from processed_events where event_id = %(id)s", {"id": created.id}).scalar()
    assert applied == 1  # the duplicate copy was skipped by the inbox
