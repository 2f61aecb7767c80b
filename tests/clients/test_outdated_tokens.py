"""A service called directly refuses the token of a deactivated user, or of a role the user no longer has, once
the identity event is in its users projection (at once where this process projected it, within
glassbox.access_checks.MAX_AGE_SECONDS where a consumer process did), not only when the token expires."""
import uuid

from glassbox import access_checks
from glassbox.users import USER_DEACTIVATED, USER_UPDATED
from tests.support.access_checks import change_elsewhere, later  # noqa: F401
from tests.support.clients import identity_event, user_profile
from tests.support.http import assert_error


def test_a_changed_role_and_a_deactivation_take_effect_when_the_event_arrives(manager, known_user, project):
    known_user(manager)
    assert manager.get("/api/v1/clients").status_code == 200

    project(identity_event(USER_UPDATED, manager.user_id, user_profile(manager.user_id, "marketer", True)))
    assert_error(manager.get("/api/v1/clients"), 401, "role")

    project(identity_event(USER_UPDATED, manager.user_id, user_profile(manager.user_id, "manager", True)))
    assert manager.get("/api/v1/clients").status_code == 200

    project(identity_event(USER_DEACTIVATED, manager.user_id, {"email": "x@glassbox.example", "role": "manager"}))
    assert_error(manager.get("/api/v1/clients"), 401, "deactivated")
    assert_error(manager.post("/api/v1/clients", json={"name": "Acme", "kind": "company"}), 401)


def test_a_user_the_projection_has_not_seen_yet_passes(as_role, client):
    # The gateway vouched for them by signing the token; the created event may still be on its way.
    assert as_role(client, "manager", user_id=str(uuid.uuid4())).get("/api/v1/clients").status_code == 200


def test_a_deactivation_projected_by_another_process_bites_once_the_remembered_check_is_too_old(
        manager, known_user, clients_db_url, later):
    known_user(manager)
    assert manager.get("/api/v1/clients").status_code == 200  # checked and remembered by this worker
    # The consumer process projected it: this worker's memory of the check is not told.
    change_elsewhere(clients_db_url, "UPDATE users SET is_active = false WHERE user_id = :id", id=manager.user_id)
    assert manager.get("/api/v1/clients").status_code == 200  # the remembered check, still young
    later(access_checks.MAX_AGE_SECONDS)
    assert_error(manager.get("/api/v1/clients"), 401, "deactivated")
