"""Identity in the gateway, on real PostgreSQL: logging in, lockout, refresh rotation and reuse detection,
deactivation that bites at once, who may do what, API tokens, mass assignment, events and keys."""
import hashlib
import json
import threading
import uuid
from datetime import datetime, timezone

import jwt
import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from flask import g
from sqlalchemy import create_engine, text

from gateway.identity import passwords
from gateway.identity.auth import authenticate
from gateway.identity.cli import users as users_cli
from gateway.identity.demo import seed
from glassbox.config import JWT_AUDIENCE, JWT_ISSUER
from glassbox.demo import DEMO_PASSWORD, DEMO_USERS, demo_user_id
from glassbox.keys import ROLES
from tests.support.clock import clock_fixture
from tests.support.contracts import validator
from tests.support.gateway import PASSWORD
from tests.support.http import assert_field_error
from tests.support.outbox import outbox_events


clock = clock_fixture(datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc))


def login(client, email, password):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def tokens_of(caller) -> dict:
    response = login(caller.client, caller.email, caller.password)
    assert response.status_code == 200, response.json
    return response.json


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def refresh(client, refresh_token):
    return client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})


def run_sql(url: str, statement: str, **params) -> list[dict]:
    engine = create_engine(url)
    with engine.begin() as conn:
        result = conn.execute(text(statement), params)
        rows = [dict(row) for row in result.mappings()] if result.returns_rows else []
    engine.dispose()
    return rows


# -- logging in ----------------------------------------------------------------------------------------

def test_login_gives_a_token_pair_that_works(gw, gw_user):
    manager = gw_user("manager")
    tokens = tokens_of(manager)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    me = gw.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json == {"kind": "user", "id": manager.user_id, "role": "manager", "email": manager.email,
                       "full_name": "Test manager", "team_id": None, "is_active": True}


def test_access_token_claims_and_its_kid_in_the_jwks(gw, gw_user, key_ring):
    user = gw_user("head_of_sales")
    token = tokens_of(user)["access_token"]
    jwks = gw.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    kids = [key["kid"] for key in jwks.json["keys"]]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and key_ring.kid in kids and header["kid"] in kids
    claims = jwt.decode(token, key_ring.public_keys[header["kid"]], algorithms=["RS256"], audience=JWT_AUDIENCE,
                        issuer=JWT_ISSUER)
    assert claims["sub"] == user.user_id and claims["role"] == "head_of_sales" and claims["typ"] == "access"
    assert claims["exp"] - claims["iat"] <= 900


def test_email_is_case_blind_at_login(gw, gw_user):
    user = gw_user("manager", email="Mixed.Case@Test.example")
    assert login(gw, "  mixed.case@test.EXAMPLE ", user.password).status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_answer(gw, gw_user):
    user = gw_user("manager")
    wrong_password = login(gw, user.email, "not the password")
    unknown_email = login(gw, "nobody@test.example", user.password)
    assert_field_error(wrong_password, 401)
    assert wrong_password.json == unknown_email.json


def test_an_unknown_email_still_spends_a_password_verification(gw, gw_user, monkeypatch):
    user = gw_user("manager")
    verified = []

    class CountingHasher(PasswordHasher):
        def verify(self, *args):
            verified.append(args)
            return super().verify(*args)

    monkeypatch.setattr(passwords, "_hasher", CountingHasher())
    login(gw, "nobody@test.example", "whatever-password")
    login(gw, user.email, "whatever-password")
    assert len(verified) == 2  # one Argon2 verification each: no timing difference to measure


@pytest.fixture
def many_logins(gateway_app, monkeypatch):
    """Rate limits out of the way: the login delays are what these tests are about."""
    monkeypatch.setitem(gateway_app.config, "GATEWAY_LOGIN_RATE_LIMIT", "1000 per minute")
    monkeypatch.setitem(gateway_app.config, "GATEWAY_RATE_LIMIT", "1000 per minute")


def same_answer(response) -> tuple:
    """Status, body and headers, but the request id each answer has its own of."""
    headers = sorted((name, value) for name, value in response.headers.items() if name != "X-Request-ID")
    return response.status_code, response.get_data(), headers


def test_an_account_waiting_after_failures_answers_exactly_like_a_wrong_password(gw, gw_user, many_logins):
    user, other = gw_user("manager"), gw_user("manager")
    for _ in range(5):
        assert_field_error(login(gw, user.email, "wrong password"), 401)
    waiting = login(gw, user.email, user.password)  # even the right password is answered as a wrong one
    assert same_answer(waiting) == same_answer(login(gw, other.email, "wrong password"))
    assert same_answer(waiting) == same_answer(login(gw, "nobody@test.example", "wrong password"))
    assert "Retry-After" not in waiting.headers


def test_the_account_delay_doubles_is_capped_and_a_right_password_after_it_works(gw, gw_user, many_logins, clock,
                                                                              gateway_db_url):
    user = gw_user("manager")

    def waits() -> float:
        [row] = run_sql(gateway_db_url, "select locked_until from users where id = :id", id=user.user_id)
        return (row["locked_until"] - clock.now).total_seconds() if row["locked_until"] else 0

    for _ in range(4):
        login(gw, user.email, "wrong password")
    assert waits() == 0  # the first failures are free
    login(gw, user.email, "wrong password")
    assert waits() == 2
    assert login(gw, user.email, user.password).status_code == 401  # during the delay
    assert login(gw, user.email, "wrong password").status_code == 401
    assert waits() == 2  # attempts during the delay do not prolong it
    seen = []
    for _ in range(8):
        clock.advance(seconds=waits())
        login(gw, user.email, "wrong password")
        seen.append(waits())
    assert seen == [4, 8, 16, 32, 60, 60, 60, 60]  # nobody can shut the account for longer than a minute
    clock.advance(seconds=60)
    assert login(gw, user.email, user.password).status_code == 200
    assert waits() == 0 and login(gw, user.email, "wrong password").status_code == 401 and waits() == 0


def test_failures_are_forgotten_after_a_quarter_of_an_hour(gw, gw_user, many_logins, clock):
    user = gw_user("manager")
    for _ in range(4):
        login(gw, user.email, "wrong password")
    clock.advance(minutes=16)
    login(gw, user.email, "wrong password")  # the first of a new run: no delay follows
    assert login(gw, user.email, user.password).status_code == 200


def test_an_address_with_many_failures_waits_whatever_the_account(gw, gw_user, many_logins, clock):
    user = gw_user("manager")
    spraying = {"REMOTE_ADDR": "10.9.9.9"}
    for attempt in range(20):  # one guess each at many e-mails, known or not: no account reaches its own delay
        response = gw.post("/api/v1/auth/login", json={"email": f"guess{attempt}@test.example",
                                                       "password": "Winter2026!"}, environ_base=spraying)
        assert_field_error(response, 401)
    refused = gw.post("/api/v1/auth/login", json={"email": user.email, "password": user.password},
                      environ_base=spraying)
    assert "this address" in assert_field_error(refused, 429)["message"]
    assert int(refused.headers["Retry-After"]) == 2
    # The account itself is not affected: its owner logs in from elsewhere.
    assert gw.post("/api/v1/auth/login", json={"email": user.email, "password": user.password},
                   environ_base={"REMOTE_ADDR": "10.1.1.1"}).status_code == 200
    clock.advance(seconds=2)
    assert gw.post("/api/v1/auth/login", json={"email": user.email, "password": user.password},
                   environ_base=spraying).status_code == 200


def test_an_address_s_forgotten_failures_are_deleted(gw, gw_user, many_logins, clock, gateway_db_url):
    for address in ("10.7.7.1", "10.7.7.2"):
        gw.post("/api/v1/auth/login", json={"email": "nobody@test.example", "password": "wrong password"},
                environ_base={"REMOTE_ADDR": address})
    clock.advance(minutes=16)
    gw.post("/api/v1/auth/login", json={"email": "nobody@test.example", "password": "wrong password"},
            environ_base={"REMOTE_ADDR": "10.7.7.3"})
    rows = run_sql(gateway_db_url, "select address, failed_logins from login_addresses")
    assert rows == [{"address": "10.7.7.3", "failed_logins": 1}]


def test_a_login_is_not_held_up_by_another_login_checking_its_password(gw_user, gateway_app, many_logins,
                                                                      monkeypatch):
    user = gw_user("manager")
    checking, release = threading.Event(), threading.Event()

    class SlowHasher(PasswordHasher):
        def verify(self, password_hash, password):
            if password == "a slow guess":  # stands for an expensive hash check that has not finished yet
                checking.set()
                release.wait(60)
            return super().verify(password_hash, password)

    monkeypatch.setattr(passwords, "_hasher", SlowHasher())
    answers = {}

    def attempt(name, password):
        answers[name] = login(gateway_app.test_client(), user.email, password).status_code

    slow = threading.Thread(target=attempt, args=("slow", "a slow guess"))
    slow.start()
    try:
        assert checking.wait(60)
        quick = threading.Thread(target=attempt, args=("quick", user.password))
        quick.start()
        quick.join(60)  # a guard against a hang, not a measured duration
        assert answers.get("quick") == 200, "the login waited for the other one's password check"
    finally:
        release.set()
        slow.join(60)
    assert answers["slow"] == 401


def test_a_good_login_resets_the_failure_count(gw, gw_user):
    user = gw_user("manager")
    for _ in range(4):
        login(gw, user.email, "wrong password")
    assert login(gw, user.email, user.password).status_code == 200
    for _ in range(4):
        assert_field_error(login(gw, user.email, "wrong password"), 401)


# -- refresh tokens ------------------------------------------------------------------------------------

def test_refresh_rotates_and_the_spent_token_is_refused(gw, gw_user, gateway_settings):
    gateway_settings(refresh_grace_seconds=0)  # the grace window for two tabs: tests/gateway/test_browser_sessions.py
    user = gw_user("manager")
    first = tokens_of(user)
    second = refresh(gw, first["refresh_token"])
    assert second.status_code == 200
    assert second.json["refresh_token"] != first["refresh_token"]
    assert gw.get("/api/v1/me", headers=bearer(second.json["access_token"])).status_code == 200
    assert_field_error(refresh(gw, first["refresh_token"]), 401)


def test_reuse_of_a_spent_token_revokes_its_whole_family_only(gw, gw_user, gateway_settings):
    gateway_settings(refresh_grace_seconds=0)
    user = gw_user("manager")
    stolen = tokens_of(user)["refresh_token"]
    other_device = tokens_of(user)["refresh_token"]  # another login: another family
    newest = refresh(gw, stolen).json["refresh_token"]
    assert_field_error(refresh(gw, stolen), 401)  # the thief (or the owner) replays the spent token
    assert_field_error(refresh(gw, newest), 401)  # so the newest token of that family dies too
    assert refresh(gw, other_device).status_code == 200


def test_expired_and_unknown_refresh_tokens_are_refused(gw, gw_user, gateway_db_url):
    user = gw_user("manager")
    token = tokens_of(user)["refresh_token"]
    run_sql(gateway_db_url, "update refresh_tokens set expires_at = now() - interval '1 second'")
    assert_field_error(refresh(gw, token), 401)
    assert_field_error(refresh(gw, "no-such-token"), 401)


def test_refresh_tokens_are_stored_hashed(gw, gw_user, gateway_db_url):
    token = tokens_of(gw_user("manager"))["refresh_token"]
    [row] = run_sql(gateway_db_url, "select token_hash from refresh_tokens")
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()


def test_logout_revokes_the_family_and_always_answers_204(gw, gw_user):
    user = gw_user("manager")
    tokens = tokens_of(user)
    rotated = refresh(gw, tokens["refresh_token"]).json
    for refresh_token in (rotated["refresh_token"], rotated["refresh_token"], "never-issued"):
        response = user.post("/api/v1/auth/logout", json={"refresh_token": refresh_token})
        assert response.status_code == 204
    assert_field_error(refresh(gw, rotated["refresh_token"]), 401)


# -- deactivation --------------------------------------------------------------------------------------

def test_a_deactivated_user_is_refused_at_once_everywhere(gw, gw_user, gw_admin, gateway_db_url):
    user = gw_user("manager")
    tokens = tokens_of(user)
    assert gw.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 200

    response = gw_admin.post(f"/api/v1/users/{user.user_id}/deactivate")
    assert response.status_code == 200 and response.json["is_active"] is False
    assert response.json["deactivated_at"]
    assert gw_admin.post(f"/api/v1/users/{user.user_id}/deactivate").status_code == 200  # idempotent

    assert_field_error(gw.get("/api/v1/me", headers=bearer(tokens["access_token"])), 401)  # not in 15 minutes: now
    assert_field_error(refresh(gw, tokens["refresh_token"]), 401)
    refused = login(gw, user.email, user.password)
    assert_field_error(refused, 401)
    assert refused.json == login(gw, user.email, "wrong password").json  # nothing tells it apart
    types = [e["type"] for e in outbox_events(gateway_db_url)]
    assert types.count("crm.user.deactivated.v1") == 1


def test_an_activated_user_can_log_in_again(gw, gw_user, gw_admin):
    user = gw_user("manager")
    gw_admin.post(f"/api/v1/users/{user.user_id}/deactivate")
    response = gw_admin.post(f"/api/v1/users/{user.user_id}/activate")
    assert response.status_code == 200 and response.json["is_active"] is True
    assert response.json["deactivated_at"] is None
    assert login(gw, user.email, user.password).status_code == 200


def test_a_role_change_retires_the_old_token_but_not_the_session(gw, gw_user, gw_admin):
    user = gw_user("manager")
    tokens = tokens_of(user)
    assert gw_admin.patch(f"/api/v1/users/{user.user_id}", json={"role": "marketer"}).status_code == 200
    assert_field_error(gw.get("/api/v1/me", headers=bearer(tokens["access_token"])), 401)
    renewed = refresh(gw, tokens["refresh_token"]).json
    me = gw.get("/api/v1/me", headers=bearer(renewed["access_token"]))
    assert me.status_code == 200 and me.json["role"] == "marketer"


def test_an_admin_cannot_lock_themselves_out(gw_admin):
    assert_field_error(gw_admin.post(f"/api/v1/users/{gw_admin.user_id}/deactivate"), 409)
    assert_field_error(gw_admin.patch(f"/api/v1/users/{gw_admin.user_id}", json={"role": "manager"}), 409)
    assert gw_admin.get("/api/v1/me").status_code == 200


def test_a_token_for_a_user_the_gateway_does_not_know_is_refused(gw, make_token):
    assert_field_error(gw.get("/api/v1/me", headers=bearer(make_token("admin"))), 401)


# -- function-level authorization ----------------------------------------------------------------------

READERS = ("admin", "head_of_sales")
ADMIN_ONLY = ("admin",)


def identity_endpoints(target_user: str, team: str, api_token: str, role: str) -> list:
    """(method, path, body, roles allowed) for every identity endpoint; bodies are valid, so an allowed
    role gets a 2xx and everyone else a 403."""
    return [
        ("get", "/api/v1/me", None, ROLES),
        ("get", "/api/v1/users", None, READERS),
        ("post", "/api/v1/users", {"email": f"new.{role}@test.example", "full_name": "New", "role": "manager",
                                   "password": PASSWORD}, ADMIN_ONLY),
        ("get", f"/api/v1/users/{target_user}", None, READERS),
        ("patch", f"/api/v1/users/{target_user}", {"full_name": f"Renamed by {role}"}, ADMIN_ONLY),
        ("post", f"/api/v1/users/{target_user}/deactivate", None, ADMIN_ONLY),
        ("post", f"/api/v1/users/{target_user}/activate", None, ADMIN_ONLY),
        ("get", "/api/v1/teams", None, READERS),
        ("post", "/api/v1/teams", {"name": f"Team of {role}"}, ADMIN_ONLY),
        ("get", f"/api/v1/teams/{team}", None, READERS),
        ("patch", f"/api/v1/teams/{team}", {"name": f"Renamed by {role}"}, ADMIN_ONLY),
        ("get", "/api/v1/api-tokens", None, ADMIN_ONLY),
        ("post", "/api/v1/api-tokens", {"name": "erp", "role": "accountant"}, ADMIN_ONLY),
        ("delete", f"/api/v1/api-tokens/{api_token}", None, ADMIN_ONLY),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_against_every_identity_endpoint(gw, gw_user, gw_admin, role):
    target = gw_user("manager")
    team = gw_admin.post("/api/v1/teams", json={"name": "Sales"}).json["id"]
    api_token = gw_admin.post("/api/v1/api-tokens", json={"name": "crm-sync", "role": "service"}).json["id"]
    caller = gw_user(role)
    for method, path, body, allowed in identity_endpoints(target.user_id, team, api_token, role):
        response = getattr(caller, method)(path, json=body)
        if role in allowed:
            assert response.status_code < 300, (method, path, response.json)
        else:
            assert_field_error(response, 403)


@pytest.mark.parametrize("method,path", [("get", "/api/v1/me"), ("get", "/api/v1/users"), ("post", "/api/v1/users"),
                                         ("get", "/api/v1/teams"), ("post", "/api/v1/api-tokens")])
def test_identity_endpoints_need_a_token(gw, method, path):
    assert_field_error(getattr(gw, method)(path, json={}), 401)


def test_head_of_sales_reads_users_with_filters_and_pages(gw, gw_user, gw_admin):
    team = gw_admin.post("/api/v1/teams", json={"name": "North"}).json["id"]
    head = gw_user("head_of_sales", team_id=team)
    anna = gw_user("manager", email="anna@test.example", team_id=team)
    gw_user("manager", email="boris@test.example")
    gw_admin.post(f"/api/v1/users/{anna.user_id}/deactivate")

    managers = head.get("/api/v1/users?role=manager").json
    assert managers["total"] == 2 and {u["role"] for u in managers["items"]} == {"manager"}
    assert [u["email"] for u in head.get(f"/api/v1/users?team_id={team}&is_active=false").json["items"]] == \
        ["anna@test.example"]
    assert head.get("/api/v1/users?q=BORIS").json["total"] == 1
    first = head.get("/api/v1/users?limit=2").json
    second = head.get(f"/api/v1/users?limit=2&cursor={first['next_cursor']}").json
    assert first["total"] == 4 and len(first["items"]) == 2 and len(second["items"]) == 2
    assert second["next_cursor"] is None
    assert {u["id"] for u in first["items"]}.isdisjoint(u["id"] for u in second["items"])
    assert head.get(f"/api/v1/users/{anna.user_id}").json["is_active"] is False


# -- API tokens ----------------------------------------------------------------------------------------

def test_api_token_is_shown_once_works_as_a_bearer_and_dies_when_revoked(gw, gw_admin, gateway_db_url):
    created = gw_admin.post("/api/v1/api-tokens", json={"name": "ERP export", "role": "accountant"})
    assert created.status_code == 201
    secret, token_id = created.json["token"], created.json["id"]
    assert secret.startswith("gbx_") and created.json["prefix"] == secret[:12]

    listed = gw_admin.get("/api/v1/api-tokens")
    assert listed.json["total"] == 1 and listed.json["items"][0]["prefix"] == secret[:12]
    assert "token" not in listed.json["items"][0] and secret not in listed.get_data(as_text=True)
    [row] = run_sql(gateway_db_url, "select * from api_tokens")
    assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest() and secret not in str(dict(row))

    me = gw.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200
    assert me.json == {"kind": "api_token", "id": token_id, "role": "accountant", "name": "ERP export"}
    assert_field_error(gw.get("/api/v1/users", headers=bearer(secret)), 403)  # scoped to its role
    assert gw_admin.get("/api/v1/api-tokens").json["items"][0]["last_used_at"]

    assert gw_admin.delete(f"/api/v1/api-tokens/{token_id}").status_code == 204
    assert gw_admin.delete(f"/api/v1/api-tokens/{token_id}").status_code == 204  # idempotent
    assert_field_error(gw.get("/api/v1/me", headers=bearer(secret)), 401)
    assert_field_error(gw_admin.delete(f"/api/v1/api-tokens/{uuid.uuid4()}"), 404)


def test_an_api_token_secret_is_not_kept_for_idempotent_replays(gw_admin, gateway_db_url):
    created = gw_admin.post("/api/v1/api-tokens", json={"name": "erp", "role": "accountant"},
                            headers={"Idempotency-Key": "mint-erp-token"})
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    kept = [bytes(row["body"] or b"") for row in run_sql(gateway_db_url, "select body from idempotency_keys")]
    assert not any(created.json["token"].encode() in body for body in kept)


def test_services_get_a_short_jwt_for_an_api_token_and_the_callers_own_for_a_user(gw, gw_admin, gateway_app,
                                                                                  key_ring):
    secret = gw_admin.post("/api/v1/api-tokens", json={"name": "bi", "role": "marketer"}).json["token"]
    with gateway_app.test_request_context():
        principal = authenticate(secret)
        minted = g.upstream_authorization.removeprefix("Bearer ")
    claims = jwt.decode(minted, key_ring.public_keys[key_ring.kid], algorithms=["RS256"], audience=JWT_AUDIENCE,
                        issuer=JWT_ISSUER)
    assert claims["sub"] == principal.user_id and claims["role"] == "marketer" == principal.role
    assert claims["exp"] - claims["iat"] <= 300

    own = gw_admin.headers["Authorization"]
    with gateway_app.test_request_context():
        authenticate(own.removeprefix("Bearer "))
        assert g.upstream_authorization == own


# -- bad input and mass assignment ---------------------------------------------------------------------

USER = {"email": "new.user@test.example", "full_name": "New User", "role": "manager", "password": PASSWORD}


@pytest.mark.parametrize("field,value", [("id", str(uuid.uuid4())), ("is_active", False), ("password_hash", "x"),
                                         ("failed_logins", 0), ("locked_until", None), ("created_at", "2020-01-01"),
                                         ("deactivated_at", None), ("is_admin", True)])
def test_create_user_refuses_fields_it_does_not_own(gw_admin, gateway_db_url, field, value):
    assert_field_error(gw_admin.post("/api/v1/users", json={**USER, field: value}), 422, field)
    assert [e["type"] for e in outbox_events(gateway_db_url)] == ["crm.user.created.v1"]  # the admin only


@pytest.mark.parametrize("body", [{"email": "x@test.example"}, {"password": PASSWORD}, {"is_active": True},
                                  {"id": str(uuid.uuid4())}])
def test_patch_user_refuses_what_it_does_not_change(gw_admin, gw_user, body):
    user = gw_user("manager")
    assert_field_error(gw_admin.patch(f"/api/v1/users/{user.user_id}", json=body), 422, next(iter(body)))


@pytest.mark.parametrize("overrides,field", [({"password": "short-pw1"}, "password"), ({"role": "root"}, "role"),
                                             ({"email": "not-an-email"}, "email"), ({"full_name": "   "}, "full_name"),
                                             ({"team_id": str(uuid.uuid4())}, "team_id")])
def test_create_user_validates_its_input(gw_admin, overrides, field):
    assert_field_error(gw_admin.post("/api/v1/users", json={**USER, **overrides}), 422, field)


def test_other_bodies_refuse_unknown_fields(gw, gw_admin):
    assert_field_error(gw.post("/api/v1/auth/login", json={"email": "a@b.c", "password": "x", "role": "admin"}), 422)
    assert_field_error(gw_admin.post("/api/v1/api-tokens", json={"name": "x", "role": "admin", "token": "gbx_mine"}), 422,
                 "token")
    assert_field_error(gw_admin.post("/api/v1/teams", json={"name": "x", "id": str(uuid.uuid4())}), 422, "id")


def test_duplicate_email_in_any_case_is_a_409(gw_admin):
    assert gw_admin.post("/api/v1/users", json={**USER, "email": "Dup@Test.example"}).status_code == 201
    assert_field_error(gw_admin.post("/api/v1/users", json={**USER, "email": "dup@test.EXAMPLE"}), 409, "email")


def test_teams_are_unique_by_name_and_users_join_them(gw_admin, gw_user):
    team = gw_admin.post("/api/v1/teams", json={"name": "South"}).json
    assert_field_error(gw_admin.post("/api/v1/teams", json={"name": "South"}), 409, "name")
    assert gw_admin.patch(f"/api/v1/teams/{team['id']}", json={"name": "South-West"}).json["name"] == "South-West"
    user = gw_user("manager")
    moved = gw_admin.patch(f"/api/v1/users/{user.user_id}", json={"team_id": team["id"]})
    assert moved.status_code == 200 and moved.json["team_id"] == team["id"]


# -- events --------------------------------------------------------------------------------------------

def test_user_events_land_in_the_outbox_and_match_their_schemas(gw_admin, gateway_db_url):
    user = gw_admin.post("/api/v1/users", json=USER).json
    gw_admin.patch(f"/api/v1/users/{user['id']}", json={"role": "head_of_sales", "full_name": "New User"})
    gw_admin.post(f"/api/v1/users/{user['id']}/deactivate")
    gw_admin.post(f"/api/v1/users/{user['id']}/activate")

    emitted = outbox_events(gateway_db_url)[1:]  # after the admin's own creation
    assert [e["type"] for e in emitted] == ["crm.user.created.v1", "crm.user.updated.v1",
                                            "crm.user.deactivated.v1", "crm.user.updated.v1"]
    assert {e["key"] for e in emitted} == {user["id"]}
    assert emitted[1]["payload"]["changed_fields"] == ["role"]
    assert emitted[3]["payload"]["changed_fields"] == ["is_active"]
    for event in emitted:
        errors = [e.message for e in validator(event["type"]).iter_errors(event["payload"])]
        assert not errors, (event["type"], errors)
        assert event["payload"]["actor_id"] == gw_admin.user_id
        assert "password" not in json.dumps(event["payload"]) and "$argon2" not in json.dumps(event["payload"])


# -- demo data and the CLI -----------------------------------------------------------------------------

def test_demo_seed_makes_one_user_per_role_once(gw, gateway_db_url):
    assert seed(gateway_db_url) == f"{len(DEMO_USERS)} demo users created (password {DEMO_PASSWORD!r})"
    assert seed(gateway_db_url) == "demo users already present"
    head = login(gw, "head@glassbox.local", DEMO_PASSWORD).json
    claims = jwt.decode(head["access_token"], options={"verify_signature": False})
    assert claims["sub"] == demo_user_id("head@glassbox.local") and claims["role"] == "head_of_sales"
    users = gw.get("/api/v1/users?limit=200", headers=bearer(head["access_token"])).json["items"]
    assert {u["role"] for u in users} == set(ROLES)
    sales = {u["team_id"] for u in users if u["role"] in ("head_of_sales", "manager")}
    assert len(sales) == 1 and None not in sales


def test_create_admin_from_the_command_line(gw, gateway_db_url, monkeypatch):
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway_db_url)
    args = ["create-admin", "--email", "root@test.example", "--full-name", "First Admin"]
    result = CliRunner().invoke(users_cli, args, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert login(gw, "root@test.example", PASSWORD).status_code == 200
    again = CliRunner().invoke(users_cli, [*args, "--password", PASSWORD])
    assert again.exit_code != 0 and "already exists" in again.output
    short = CliRunner().invoke(users_cli, ["create-admin", "--email", "b@test.example", "--full-name", "B",
                                           "--password", "short"])
    assert short.exit_code != 0 and "password" in short.output
