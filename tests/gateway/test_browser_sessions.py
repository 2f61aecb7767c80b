"""Browser sessions at the gateway, on real PostgreSQL: the refresh token in an HttpOnly cookie, the
double-submit CSRF check on refresh and logout, logging out everywhere, and the grace window that lets two tabs
refresh at once without revoking the session (and only them)."""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from http.cookies import SimpleCookie

import pytest

from tests.support.clock import clock_fixture
from tests.support.http import assert_error

LOGIN, REFRESH, LOGOUT, LOGOUT_ALL = ("/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout",
                                      "/api/v1/auth/logout-all")
REFRESH_LIFETIME = 14 * 24 * 3600
COOKIE_ANSWER = {"access_token", "token_type", "expires_in", "csrf_token"}

clock = clock_fixture(datetime.now(timezone.utc))


def cookies_set(response) -> dict[str, dict]:
    """Set-Cookie headers by name: {"value", and each attribute in lower case (flags as True)}."""
    found = {}
    for header in response.headers.getlist("Set-Cookie"):
        [(name, morsel)] = SimpleCookie(header).items()
        flags = {part.strip().lower() for part in header.split(";")[1:] if "=" not in part}
        found[name] = {"value": morsel.value, **{key: value for key, value in morsel.items() if value},
                       **dict.fromkeys(flags, True)}
    return found


def browser_login(client, user, **request):
    response = client.post(LOGIN, json={"email": user.email, "password": user.password, "session": "cookie"},
                           **request)
    assert response.status_code == 200, response.get_json()
    return response


def csrf(response) -> dict:
    return {"X-CSRF-Token": response.get_json()["csrf_token"]}


def bearer(answer) -> dict:
    return {"Authorization": f"Bearer {answer.get_json()['access_token']}"}


# -- logging in ----------------------------------------------------------------------------------------

def test_cookie_login_keeps_the_refresh_token_out_of_the_body(gw, gw_user):
    response = browser_login(gw, gw_user("manager"))
    assert set(response.get_json()) == COOKIE_ANSWER
    cookies = cookies_set(response)
    refresh_cookie, csrf_cookie = cookies["glassbox_refresh"], cookies["glassbox_csrf"]
    assert refresh_cookie["httponly"] and refresh_cookie["samesite"] == "Strict"
    assert refresh_cookie["path"] == "/api/v1/auth" and refresh_cookie["max-age"] == str(REFRESH_LIFETIME)
    assert "secure" not in refresh_cookie  # plain http to localhost: a developer's browser would drop it
    assert csrf_cookie["value"] == response.get_json()["csrf_token"]
    assert "httponly" not in csrf_cookie and csrf_cookie["path"] == "/" and csrf_cookie["samesite"] == "Strict"
    assert gw.get("/api/v1/me", headers=bearer(response)).status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("base_url", ["https://localhost", "http://crm.example.com", "https://crm.example.com"])
def test_cookies_are_secure_unless_plain_http_to_localhost(gw, gw_user, base_url):
    cookies = cookies_set(browser_login(gw, gw_user("manager"), base_url=base_url))
    assert cookies["glassbox_refresh"]["secure"] and cookies["glassbox_csrf"]["secure"]


def test_token_mode_stays_the_default_and_sets_no_cookie(gw, gw_user):
    user = gw_user("manager")
    for body in ({}, {"session": "token"}):
        response = gw.post(LOGIN, json={"email": user.email, "password": user.password, **body})
        assert set(response.get_json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
        assert not response.headers.getlist("Set-Cookie")


def test_an_unknown_session_mode_is_a_422(gw, gw_user):
    user = gw_user("manager")
    response = gw.post(LOGIN, json={"email": user.email, "password": user.password, "session": "jar"})
    assert "session" in assert_error(response, 422)["errors"]["json"]


# -- refreshing from the cookie --------------------------------------------------------------------------

@pytest.mark.parametrize("body", [None, {}])
def test_refresh_from_the_cookie_rotates_and_sets_both_cookies_again(gw, gw_user, body):
    login = browser_login(gw, gw_user("manager"))
    refreshed = gw.post(REFRESH, json=body, headers=csrf(login))
    assert refreshed.status_code == 200, refreshed.get_json()
    assert set(refreshed.get_json()) == COOKIE_ANSWER
    cookies = cookies_set(refreshed)
    assert cookies["glassbox_refresh"]["value"] != cookies_set(login)["glassbox_refresh"]["value"]
    assert cookies["glassbox_csrf"]["value"] == refreshed.get_json()["csrf_token"] != login.get_json()["csrf_token"]
    assert gw.get("/api/v1/me", headers=bearer(refreshed)).status_code == 200
    # The browser now holds the new cookies: the next refresh needs the new CSRF token, and the old one fails.
    assert_error(gw.post(REFRESH, headers=csrf(login)), 403, "X-CSRF-Token")
    assert gw.post(REFRESH, headers=csrf(refreshed)).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": "guessed"}])
def test_refresh_from_the_cookie_without_the_csrf_header_is_a_403(gw, gw_user, headers):
    browser_login(gw, gw_user("manager"))
    response = gw.post(REFRESH, headers=headers)
    assert_error(response, 403, "X-CSRF-Token")
    assert not response.headers.getlist("Set-Cookie")


def test_refresh_without_the_csrf_cookie_is_a_403_even_with_a_header(gw, gw_user):
    login = browser_login(gw, gw_user("manager"))
    gw.delete_cookie("glassbox_csrf", path="/")
    assert_error(gw.post(REFRESH, headers=csrf(login)), 403)


def test_a_refused_cookie_is_cleared(gw, gw_user):
    login = browser_login(gw, gw_user("manager"))
    assert gw.post(LOGOUT_ALL, headers=bearer(login)).status_code == 204
    gw.set_cookie("glassbox_refresh", cookies_set(login)["glassbox_refresh"]["value"], path="/api/v1/auth")
    gw.set_cookie("glassbox_csrf", login.get_json()["csrf_token"])
    refused = gw.post(REFRESH, headers=csrf(login))
    assert_error(refused, 401)
    assert cookies_set(refused)["glassbox_refresh"]["max-age"] == "0"


def test_refresh_with_neither_a_body_token_nor_a_cookie_is_a_401(gw):
    assert_error(gw.post(REFRESH), 401, "refresh token")
    assert_error(gw.post(REFRESH, json={}), 401)


def test_a_body_token_is_refreshed_in_token_mode_whatever_the_cookies(gw, gw_user):
    user = gw_user("manager")
    browser_login(gw, user)
    token = gw.post(LOGIN, json={"email": user.email, "password": user.password}).get_json()["refresh_token"]
    response = gw.post(REFRESH, json={"refresh_token": token})  # no CSRF header: not a cookie request
    assert set(response.get_json()) == {"access_token", "refresh_token", "token_type", "expires_in"}


# -- logging out ---------------------------------------------------------------------------------------

def test_cookie_logout_revokes_the_session_and_clears_both_cookies(gw, gw_user):
    login = browser_login(gw, gw_user("manager"))
    refresh_token = cookies_set(login)["glassbox_refresh"]["value"]
    response = gw.post(LOGOUT, headers=csrf(login))
    assert response.status_code == 204 and response.data == b""
    cleared = cookies_set(response)
    assert cleared["glassbox_refresh"]["max-age"] == cleared["glassbox_csrf"]["max-age"] == "0"
    assert cleared["glassbox_refresh"]["path"] == "/api/v1/auth" and cleared["glassbox_csrf"]["path"] == "/"
    assert_error(gw.post(REFRESH, json={"refresh_token": refresh_token}), 401)


def test_cookie_logout_without_the_csrf_header_is_a_403_and_revokes_nothing(gw, gw_user):
    login = browser_login(gw, gw_user("manager"))
    assert_error(gw.post(LOGOUT, headers={"X-CSRF-Token": "forged"}), 403)
    assert gw.post(REFRESH, headers=csrf(login)).status_code == 200


def test_logout_with_no_session_at_all_is_still_204(gw):
    assert gw.post(LOGOUT).status_code == 204


def test_logout_everywhere_revokes_every_session_of_the_caller_only(gw, gw_user):
    user, other = gw_user("manager"), gw_user("manager")
    laptop = browser_login(gw, user)
    phone = gw.post(LOGIN, json={"email": user.email, "password": user.password}).get_json()["refresh_token"]
    others = gw.post(LOGIN, json={"email": other.email, "password": other.password}).get_json()["refresh_token"]
    response = gw.post(LOGOUT_ALL, headers=bearer(laptop))
    assert response.status_code == 204
    assert cookies_set(response)["glassbox_refresh"]["max-age"] == "0"
    assert_error(gw.post(REFRESH, json={"refresh_token": phone}), 401)
    assert_error(gw.post(REFRESH, json={"refresh_token": cookies_set(laptop)["glassbox_refresh"]["value"]}), 401)
    assert gw.post(REFRESH, json={"refresh_token": others}).status_code == 200


def test_logout_everywhere_needs_an_access_token(gw, gw_user):
    browser_login(gw, gw_user("manager"))
    assert_error(gw.post(LOGOUT_ALL), 401)


# -- the grace window ----------------------------------------------------------------------------------

def token_pair(client, user) -> dict:
    return client.post(LOGIN, json={"email": user.email, "password": user.password}).get_json()


def test_a_token_spent_within_the_grace_window_gets_a_pair_of_the_same_family(gw, gw_user, clock):
    spent = token_pair(gw, gw_user("manager"))["refresh_token"]
    first_tab = gw.post(REFRESH, json={"refresh_token": spent}).get_json()
    clock.advance(seconds=29)
    second_tab = gw.post(REFRESH, json={"refresh_token": spent})
    assert second_tab.status_code == 200
    assert second_tab.get_json()["refresh_token"] != first_tab["refresh_token"]
    # Neither tab lost its session.
    assert gw.post(REFRESH, json={"refresh_token": first_tab["refresh_token"]}).status_code == 200
    assert gw.post(REFRESH, json={"refresh_token": second_tab.get_json()["refresh_token"]}).status_code == 200


def test_after_the_grace_window_reuse_revokes_the_family(gw, gw_user, clock):
    spent = token_pair(gw, gw_user("manager"))["refresh_token"]
    newest = gw.post(REFRESH, json={"refresh_token": spent}).get_json()["refresh_token"]
    clock.advance(seconds=30)
    assert_error(gw.post(REFRESH, json={"refresh_token": spent}), 401)
    assert_error(gw.post(REFRESH, json={"refresh_token": newest}), 401)


def test_the_grace_window_is_a_setting_and_zero_turns_it_off(gw, gw_user, gateway_settings):
    gateway_settings(refresh_grace_seconds=0)
    spent = token_pair(gw, gw_user("manager"))["refresh_token"]
    newest = gw.post(REFRESH, json={"refresh_token": spent}).get_json()["refresh_token"]
    assert_error(gw.post(REFRESH, json={"refresh_token": spent}), 401)
    assert_error(gw.post(REFRESH, json={"refresh_token": newest}), 401)


def test_a_revoked_token_gets_no_grace(gw, gw_user):
    spent = token_pair(gw, gw_user("manager"))["refresh_token"]
    newest = gw.post(REFRESH, json={"refresh_token": spent}).get_json()["refresh_token"]
    assert gw.post(LOGOUT, json={"refresh_token": newest}).status_code == 204
    assert_error(gw.post(REFRESH, json={"refresh_token": spent}), 401)


def test_two_tabs_refreshing_the_same_cookie_at_once_both_stay_logged_in(gateway_app, gw, gw_user):
    user = gw_user("manager")
    login = browser_login(gw, user)
    cookies = {name: cookie["value"] for name, cookie in cookies_set(login).items()}
    barrier, answers = threading.Barrier(2), []

    def tab():
        client = gateway_app.test_client()  # a tab: the same browser's cookies
        client.set_cookie("glassbox_refresh", cookies["glassbox_refresh"], path="/api/v1/auth")
        client.set_cookie("glassbox_csrf", cookies["glassbox_csrf"])
        barrier.wait()
        answers.append(client.post(REFRESH, headers={"X-CSRF-Token": cookies["glassbox_csrf"]}))

    tabs = [threading.Thread(target=tab) for _ in range(2)]
    for thread in tabs:
        thread.start()
    for thread in tabs:
        thread.join()
    assert [answer.status_code for answer in answers] == [200, 200]
    new_tokens = [cookies_set(answer)["glassbox_refresh"]["value"] for answer in answers]
    assert len(set(new_tokens)) == 2
    for token in new_tokens:  # the family lives on: each tab's next refresh works
        assert gw.post(REFRESH, json={"refresh_token": token}).status_code == 200
