"""The gateway's housekeeping: refresh tokens are deleted a day after they expire, not before (a spent or revoked
one must still be recognised until then, so that its reuse revokes the family)."""
from sqlalchemy import create_engine, text

from glassbox import retention


def test_refresh_tokens_go_a_day_after_they_expire(gw, gw_user, gateway_db_url, monkeypatch):
    user = gw_user("manager")
    for _ in range(3):
        assert gw.post("/api/v1/auth/login", json={"email": user.email, "password": user.password}).status_code == 200
    engine = create_engine(gateway_db_url)
    with engine.begin() as conn:
        ids = conn.scalars(text("select id from refresh_tokens order by issued_at")).all()
        conn.execute(text("update refresh_tokens set expires_at = now() - interval '2 days' where id = :id"),
                     {"id": ids[0]})  # expired long ago: goes
        conn.execute(text("update refresh_tokens set expires_at = now() - interval '1 hour', "
                          "revoked_at = now() where id = :id"), {"id": ids[1]})  # expired an hour ago: stays
        conn.execute(text("update refresh_tokens set revoked_at = now() where id = :id"), {"id": ids[2]})
    counts = retention.purge(engine, "gateway")
    with engine.connect() as conn:
        left = set(conn.scalars(text("select id from refresh_tokens")).all())
    assert counts["refresh_tokens"] == 1 and left == set(ids[1:])

    monkeypatch.setenv("GATEWAY_REFRESH_TOKEN_RETENTION_DAYS", "0.01")  # about a quarter of an hour
    assert retention.purge(engine, "gateway")["refresh_tokens"] == 1
    engine.dispose()
