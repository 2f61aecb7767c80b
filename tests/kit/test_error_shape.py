"""One handler renders every refusal of the service layer in the one error shape, with the headers it carries."""
from flask import Flask

from glassbox import web
from glassbox.errors import NotFound, TooManyRequests, Unavailable


def app_raising(error):
    app = Flask("probe")
    web.init_app(app)
    app.add_url_rule("/probe", "probe", lambda: (_ for _ in ()).throw(error))
    return app.test_client()


def test_a_503_says_when_to_come_back():
    response = app_raising(Unavailable("the clients service cannot be reached; try again")).get("/probe")
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert response.json == {"code": 503, "status": "Service Unavailable", "errors": {},
                             "message": "the clients service cannot be reached; try again"}


def test_a_429_carries_its_retry_after():
    response = app_raising(TooManyRequests("too many failed logins", retry_after=42)).get("/probe")
    assert (response.status_code, response.headers["Retry-After"], response.json["code"]) == (429, "42", 429)


def test_an_error_without_headers_adds_none():
    response = app_raising(NotFound("no such client")).get("/probe")
    assert response.status_code == 404 and "Retry-After" not in response.headers
    assert response.json["message"] == "no such client"
