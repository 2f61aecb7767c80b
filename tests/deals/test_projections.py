"""The projections of clients and users, fed by the consumer's handlers directly (the real broker and the consumer
runner are covered in test_projection_on_the_broker.py): every client and user event type, partial events, late
and repeated events."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from services.deals import consumers
from services.deals.consumers import (CLIENT_ARCHIVED, CLIENT_ASSIGNED, CLIENT_CREATED, CLIENT_UPDATED, GROUP,
                                      HANDLERS, TOPICS, USER_CREATED, USER_DEACTIVATED, USER_UPDATED)
from services.deals.models import Client, User
from tests.support.deals import RUB, card, client_event
from tests.support.http import assert_error

T = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def at(minutes: int) -> datetime:
    return T + timedelta(minutes=minutes)


@pytest.fixture
def row(deals, deals_engine):
    def _row(model, key: str):
        with Session(deals_engine) as session:
            return session.get(model, uuid.UUID(key))

    return _row


def test_the_consumer_reads_clients_and_identity_in_its_own_group():
    assert GROUP == "deals" and TOPICS == ("crm.clients.events", "crm.identity.events")
    assert set(HANDLERS) == {CLIENT_CREATED, CLIENT_UPDATED, CLIENT_ASSIGNED, CLIENT_ARCHIVED, USER_CREATED,
                             USER_UPDATED, USER_DEACTIVATED, consumers.CAMPAIGN_CREATED, consumers.CAMPAIGN_UPDATED,
                             *consumers.ACTIVITY_EVENTS}
    assert "crm.contact.created.v1" not in HANDLERS  # a tolerant reader: other types are not ours


def test_a_client_is_created_updated_assigned_and_archived(project, row):
    client_id, owner, campaign = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    project(client_event(CLIENT_CREATED, client_id, card(owner, campaign_id=campaign), at(0)))
    created = row(Client, client_id)
    assert (created.name, str(created.owner_id), created.industry, created.region, str(created.campaign_id),
            created.status, created.archived_at, created.last_event_time) == (
        "Volga Steel Works", owner, "manufacturing", "Samara", campaign, "active", None, at(0))

    project(client_event(CLIENT_UPDATED, client_id, {**card(owner, region="Kazan", campaign_id=None),
                                                     "changed_fields": ["campaign_id", "region"]}, at(1)))
    assert (row(Client, client_id).region, row(Client, client_id).campaign_id) == ("Kazan", None)

    new_owner = str(uuid.uuid4())
    project(client_event(CLIENT_ASSIGNED, client_id, {"name": "Volga Steel Works", "owner_id": new_owner,
                                                      "previous_owner_id": owner,
                                                      "assigned_at": "2026-03-01T09:02:00Z"}, at(2)))
    assigned = row(Client, client_id)
    assert str(assigned.owner_id) == new_owner and assigned.region == "Kazan"  # what it does not carry stays

    project(client_event(CLIENT_ARCHIVED, client_id, {"name": "Volga Steel Works", "owner_id": new_owner,
                                                      "archived_at": "2026-03-01T09:03:00Z"}, at(3)))
    archived = row(Client, client_id)
    assert archived.archived_at == at(3) and archived.last_event_time == at(3)


def test_an_older_event_arriving_late_changes_nothing(project, row):
    client_id, owner = str(uuid.uuid4()), str(uuid.uuid4())
    project(client_event(CLIENT_CREATED, client_id, card(owner), at(0)))
    project(client_event(CLIENT_ARCHIVED, client_id, {"name": "Volga Steel Works", "owner_id": owner,
                                                      "archived_at": "2026-03-01T09:05:00Z"}, at(5)))
    project(client_event(CLIENT_UPDATED, client_id, {**card(owner, name="Stale name"), "changed_fields": ["name"]},
                         at(3)))
    project(client_event(CLIENT_CREATED, client_id, card(owner), at(0)))  # a replay
    late = row(Client, client_id)
    assert late.name == "Volga Steel Works" and late.archived_at == at(5) and late.last_event_time == at(5)


def test_a_client_first_seen_through_a_partial_event(project, row):
    client_id, owner = str(uuid.uuid4()), str(uuid.uuid4())
    project(client_event(CLIENT_ASSIGNED, client_id, {"name": "Baltic Foods", "owner_id": owner,
                                                      "previous_owner_id": str(uuid.uuid4())}, at(0)))
    first = row(Client, client_id)
    assert (first.name, str(first.owner_id), first.industry, first.archived_at) == ("Baltic Foods", owner, None, None)


def test_a_bad_client_id_raises_so_the_runner_dead_letters_it(project):
    with pytest.raises(ValueError):
        project(client_event(CLIENT_CREATED, "not-a-uuid", card(str(uuid.uuid4()))))


def test_users_are_created_updated_and_deactivated(project, row):
    from glassbox.events import DomainEvent

    user_id = str(uuid.uuid4())

    def user(event_type, data, time):
        return DomainEvent(type=event_type, source="/crm/gateway", subject=user_id, time=time,
                           data={"user_id": user_id, **data})

    profile = {"email": "ivan@glassbox.example", "full_name": "Ivan Orlov", "role": "manager", "team_id": None,
               "is_active": True}
    project(user(USER_CREATED, profile, at(0)))
    project(user(USER_UPDATED, {**profile, "role": "head_of_sales", "changed_fields": ["role"]}, at(1)))
    assert row(User, user_id).role == "head_of_sales"
    project(user(USER_DEACTIVATED, {"email": profile["email"], "role": "head_of_sales"}, at(2)))
    project(user(USER_UPDATED, {**profile, "full_name": "Late"}, at(1)))
    gone = row(User, user_id)
    assert (gone.is_active, gone.full_name, gone.last_event_time) == (False, "Ivan Orlov", at(2))


def test_the_api_follows_the_projection(manager, head, project, known_user, clock):
    """An archived client gets no deals; a deactivated manager cannot be given one."""
    client_id = str(uuid.uuid4())
    project(client_event(CLIENT_CREATED, client_id, card(manager.user_id), at(0)))
    body = {"client_id": client_id, "title": "Pumps", "amount": RUB}
    assert manager.post("/api/v1/deals", json=body).status_code == 201
    project(client_event(CLIENT_ARCHIVED, client_id, {"name": "Volga Steel Works", "owner_id": manager.user_id,
                                                      "archived_at": "2026-03-01T09:05:00Z"}, at(5)))
    assert_error(manager.post("/api/v1/deals", json=body), 422, "archived")

    colleague = known_user(role="manager")
    other_client = str(uuid.uuid4())
    project(client_event(CLIENT_CREATED, other_client, card(colleague), at(0)))
    deal = head.post("/api/v1/deals", json={**body, "client_id": other_client, "owner_id": colleague})
    assert deal.status_code == 201
    project(consumers_event_deactivated(colleague))
    assert_error(head.post("/api/v1/deals", json={**body, "client_id": other_client, "owner_id": colleague}), 422,
                 "owner_id")


def consumers_event_deactivated(user_id: str):
    from glassbox.events import DomainEvent

    return DomainEvent(type=consumers.USER_DEACTIVATED, source="/crm/gateway", subject=user_id,
                       data={"user_id": user_id, "role": "manager"}, time=datetime.now(timezone.utc))
