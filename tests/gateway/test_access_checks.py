"""The gateway remembers, per process and for less than a second, what it checked about a token's user: a change
made in this process is seen at once, one made elsewhere (another gunicorn worker, the users command, an operator's
SQL) once the remembered check is older than its max age. The remembered clock is moved on by the test."""
from __future__ import annotations

import threading

from glassbox import access_checks
from glassbox.access_checks import RecentAccessChecks, recent_access_checks
from tests.support.access_checks import change_elsewhere, later  # noqa: F401
from tests.support.http import assert_error


def test_changes_made_elsewhere_are_seen_within_a_second():
    assert 0 < access_checks.MAX_AGE_SECONDS <= 1


def test_a_deactivation_made_elsewhere_bites_once_the_remembered_check_is_too_old(gw_user, gateway_db_url, later):
    user = gw_user("manager")
    assert user.get("/api/v1/me").status_code == 200  # checked and remembered
    change_elsewhere(gateway_db_url, "UPDATE users SET is_active = false WHERE id = :id", id=user.user_id)
    assert user.get("/api/v1/me").status_code == 200  # the remembered check, still young
    later(access_checks.MAX_AGE_SECONDS)
    assert_error(user.get("/api/v1/me"), 401, "deactivated")
    assert_error(user.get("/api/v1/clients"), 401, "deactivated")  # the proxied resources too


def test_a_role_changed_elsewhere_retires_the_token_once_the_remembered_check_is_too_old(gw_user, gateway_db_url,
                                                                                          later):
    user = gw_user("manager")
    assert user.get("/api/v1/me").status_code == 200
    change_elsewhere(gateway_db_url, "UPDATE users SET role = 'marketer' WHERE id = :id", id=user.user_id)
    later(access_checks.MAX_AGE_SECONDS)
    assert_error(user.get("/api/v1/me"), 401, "role has changed")


def test_changes_made_here_are_seen_at_once(gw_user, gw_admin, later):
    deactivated, renamed_role = gw_user("manager"), gw_user("manager")
    for user in (deactivated, renamed_role):
        assert user.get("/api/v1/me").status_code == 200
    assert gw_admin.post(f"/api/v1/users/{deactivated.user_id}/deactivate").status_code == 200
    assert gw_admin.patch(f"/api/v1/users/{renamed_role.user_id}", json={"role": "marketer"}).status_code == 200
    assert_error(deactivated.get("/api/v1/me"), 401, "deactivated")  # the clock never moved
    assert_error(renamed_role.get("/api/v1/me"), 401, "role has changed")


def test_a_refusal_is_remembered_too_and_an_activation_here_ends_it(gw_user, gw_admin, gateway_db_url, later):
    user = gw_user("manager")
    change_elsewhere(gateway_db_url, "UPDATE users SET is_active = false WHERE id = :id", id=user.user_id)
    assert_error(user.get("/api/v1/me"), 401, "deactivated")
    assert gw_admin.post(f"/api/v1/users/{user.user_id}/activate").status_code == 200
    assert user.get("/api/v1/me").status_code == 200


def test_the_remembered_checks_stay_bounded():
    checks = RecentAccessChecks(max_entries=3)
    asked = []
    for n in range(10):
        checks.refusal(f"user-{n}", "manager", lambda n=n: asked.append(n))
    assert len(checks._checks) <= 3 and asked == list(range(10))
    checks.refusal("user-9", "manager", lambda: asked.append("again"))
    assert asked[-1] == 9  # the newest is still remembered


def test_a_burst_of_one_caller_s_requests_waits_for_one_check():
    checks = RecentAccessChecks()
    started, release, asked = threading.Event(), threading.Event(), []

    def slow_check():
        asked.append(1)
        started.set()
        release.wait(5)
        return None

    first = threading.Thread(target=checks.refusal, args=("user-1", "manager", slow_check))
    first.start()
    started.wait(5)
    others = [threading.Thread(target=checks.refusal, args=("user-1", "manager", slow_check)) for _ in range(5)]
    for thread in others:
        thread.start()
    release.set()
    for thread in [first, *others]:
        thread.join(5)
    assert asked == [1]
