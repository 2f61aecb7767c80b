"""A URI longer than the kit's limit is a 414 in the error shape from the app, and gunicorn (whose request-line
limit is set above the app's) lets it through to the app instead of answering with its own HTML page."""
import os
import subprocess
import sys
import time

import pytest
import requests

from glassbox.web.hooks import MAX_URI_LENGTH
from tests.support.http import assert_error, free_port


def long_query(total: int) -> str:
    path = "/api/v1/clients?q="
    return path + "x" * (total - len(path))


def test_a_uri_over_the_limit_is_a_414_in_the_error_shape(clients_app):
    client = clients_app.test_client()
    body = assert_error(client.get(long_query(MAX_URI_LENGTH + 1)), 414)
    assert str(MAX_URI_LENGTH) in body["message"]
    assert client.get(long_query(MAX_URI_LENGTH)).status_code == 401  # at the limit: on to authentication


@pytest.fixture
def served_clients(clients_db_url, key_files, tmp_path):
    """`glassbox serve clients` as a real gunicorn process on a free port."""
    port = free_port()
    env = {**os.environ, "CLIENTS_DATABASE_URL": clients_db_url, "JWT_PUBLIC_KEY_FILE": str(key_files[1]),
           "GLASSBOX_VAR_DIR": str(tmp_path), "WEB_CONCURRENCY": "1", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"}
    process = subprocess.Popen([sys.executable, "-m", "glassbox.cli", "serve", "clients", "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(f"{url}/health/live", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or still booting its worker
                time.sleep(0.1)
        else:
            pytest.fail("glassbox serve did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_gunicorn_passes_long_uris_to_the_app(served_clients):
    response = requests.get(served_clients + long_query(MAX_URI_LENGTH + 1000), timeout=10)
    assert response.status_code == 414
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == 414
