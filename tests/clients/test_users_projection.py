"""The users projection, fed by the identity handlers directly (the real broker and the consumer runner
are covered in tests/integration/test_identity_projection.py)."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from services.clients.consumers import (DEAL_CREATED, GROUP, HANDLERS, TOPICS, USER_CREATED, USER_DEACTIVATED,
                                       USER_UPDATED)
from services.clients.models import User
from tests.support.clients import identity_event

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
PROFILE = {"email": "ivan@glassbox.example", "full_name": "Ivan Orlov", "role": "manager", "team_id": None,
           "is_active": True, "created_at": "2026-03-01T09:00:00Z", "actor_id": str(uuid.uuid4())}


@pytest.fixture
def row(clients_db_url):
    engine = create_engine(clients_db_url)

    def _row(user_id: str) -> User | None:
        with Session(engine) as session:
            return session.scalar(select(User).where(User.user_id == uuid.UUID(user_id)))

    yield _row
    engine.dispose()


@pytest.fixture
def user_id() -> str:
    return str(uuid.uuid4())


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_the_consumer_reads_the_identity_and_deals_topics_in_its_own_group():
    assert GROUP == "clients" and TOPICS == ("crm.identity.events", "crm.deals.events")
    assert set(HANDLERS) == {USER_CREATED, USER_UPDATED, USER_DEACTIVATED, DEAL_CREATED}


def test_created_then_updated_then_deactivated(project, row, user_id):
    project(identity_event(USER_CREATED, user_id, PROFILE, at(0)))
    created = row(user_id)
    assert (created.full_name, created.email, created.role, created.is_active) == (
        "Ivan Orlov", "ivan@glassbox.example", "manager", True)
    assert created.last_event_time == at(0)

    team = str(uuid.uuid4())
    project(identity_event(USER_UPDATED, user_id, {**PROFILE, "role": "head_of_sales", "team_id": team,
                                                   "changed_fields": ["role", "team_id"]}, at(1)))
    updated = row(user_id)
    assert (updated.role, str(updated.team_id)) == ("head_of_sales", team)

    project(identity_event(USER_DEACTIVATED, user_id, {"email": PROFILE["email"], "role": "head_of_sales",
                                                       "deactivated_at": "2026-03-01T09:02:00Z"}, at(2)))
    gone = row(user_id)
    assert gone.is_active is False and gone.full_name == "Ivan Orlov"  # the deactivation does not carry it
    assert gone.last_event_time == at(2)


def test_activation_comes_as_an_update(project, row, user_id):
    project(identity_event(USER_DEACTIVATED, user_id, {"email": PROFILE["email"], "role": "manager"}, at(0)))
    assert row(user_id).is_active is False and row(user_id).full_name is None  # a user first seen leaving
    project(identity_event(USER_UPDATED, user_id, {**PROFILE, "changed_fields": ["is_active"]}, at(1)))
    assert row(user_id).is_active is True and row(user_id).full_name == "Ivan Orlov"


def test_an_older_event_arriving_late_changes_nothing(project, row, user_id):
    project(identity_event(USER_CREATED, user_id, PROFILE, at(0)))
    project(identity_event(USER_DEACTIVATED, user_id, {"role": "manager"}, at(5)))
    project(identity_event(USER_UPDATED, user_id, {**PROFILE, "full_name": "Stale Name"}, at(3)))
    project(identity_event(USER_CREATED, user_id, PROFILE, at(0)))
    late = row(user_id)
    assert late.is_active is False and late.full_name == "Ivan Orlov" and late.last_event_time == at(5)


def test_an_event_of_the_same_time_is_applied(project, row, user_id):
    project(identity_event(USER_CREATED, user_id, PROFILE, at(0)))
    project(identity_event(USER_UPDATED, user_id, {**PROFILE, "full_name": "Ivan P. Orlov"}, at(0)))
    assert row(user_id).full_name == "Ivan P. Orlov"


def test_unknown_fields_are_ignored_and_the_subject_stands_in_for_a_missing_user_id(project, row, user_id):
    event = identity_event(USER_CREATED, user_id, {**PROFILE, "password_hash": "x", "nickname": "Vanya",
                                                   "preferences": {"theme": "dark"}}, at(0))
    del event.data["user_id"]
    project(event)
    assert row(user_id).full_name == "Ivan Orlov"


def test_a_user_without_a_usable_id_fails_so_the_runner_dead_letters_it(project):
    event = identity_event(USER_CREATED, "not-a-uuid", PROFILE, at(0))
    with pytest.raises(ValueError):
        project(event)
