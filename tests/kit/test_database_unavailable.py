"""When the database cannot answer, a request is a 503 with Retry-After in the one error shape, never a 500; a
statement running past the statement_timeout is cancelled by PostgreSQL and answered the same way."""
from flask import Flask
from sqlalchemy import text

from glassbox import web
from glassbox.db import Database
from glassbox.web import init_app_error_handlers
from tests.support.http import free_port


def app_running(database_url: str, sql: str, statement_timeout: float = 0):
    database = Database(database_url, "probe", statement_timeout=statement_timeout)
    app = Flask("probe")
    web.init_app(app)
    init_app_error_handlers(app)

    def probe():
        with database.session() as session:
            return {"value": session.scalar(text(sql))}

    app.add_url_rule("/probe", "probe", probe)
    return app.test_client(), database


def test_no_database_server_is_a_503_with_retry_after():
    client, database = app_running(f"postgresql+psycopg://nobody:x@127.0.0.1:{free_port()}/nothing", "select 1")
    response = client.get("/probe")
    assert (response.status_code, response.headers["Retry-After"]) == (503, "5")
    assert response.json["code"] == 503 and "database is unavailable" in response.json["message"]
    database.dispose()


def test_a_statement_past_the_timeout_is_cancelled_and_a_503(database_url):
    client, database = app_running(database_url("clients"), "select pg_sleep(30)", statement_timeout=0.2)
    response = client.get("/probe")
    assert (response.status_code, response.headers["Retry-After"]) == (503, "5")
    assert "took longer" in response.json["message"]
    database.dispose()


def test_a_quick_statement_under_the_timeout_answers(database_url):
    client, database = app_running(database_url("clients"), "select current_setting('statement_timeout')",
                                   statement_timeout=2)
    assert client.get("/probe").json == {"value": "2s"}
    database.dispose()


def test_other_database_errors_stay_500s(database_url):
    client, database = app_running(database_url("clients"), "select 1 / 0")
    response = client.get("/probe")
    assert response.status_code == 500 and "Retry-After" not in response.headers
    database.dispose()
