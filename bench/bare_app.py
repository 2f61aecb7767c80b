"""The baseline of bench/api_bench.py: a bare Flask app served by gunicorn with the services' settings.

It answers the same paths as the clients service, so the load generator sends byte-identical requests
to both and the only difference is the application behind them:

- GET  /api/v1/clients/<uuid>  a small constant JSON object (no auth, no database, no schema);
- POST /api/v1/clients         the request's JSON body, echoed back with 201.

    .venv/bin/python -m gunicorn -c glassbox/gunicorn_conf.py bench.bare_app:app   (GUNICORN_BIND=...)
"""
from __future__ import annotations

from flask import Flask, request

app = Flask("bench.bare_app")


@app.get("/api/v1/clients/<uuid:client_id>")
def get_item(client_id):
    return {"id": str(client_id), "name": "Bare", "kind": "company", "status": "prospect"}


@app.post("/api/v1/clients")
def echo():
    return request.get_json(), 201
