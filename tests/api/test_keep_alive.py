"""An error answer never costs the client its keep-alive connection (real uvicorn, one TCP connection)."""

from __future__ import annotations

import http.client
import json

import pytest

from app.main import create_app
from tests.helpers import serving


@pytest.fixture
def server(db):
    app = create_app()

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    with serving(app, log_level="critical") as port:
        yield port


def test_one_connection_survives_every_kind_of_error_answer(server):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    answers = []
    for method, path, body in [
        ("GET", "/boom", None),  # an unexpected error: 500
        ("GET", "/healthz", None),
        ("GET", "/nope", None),  # 404
        ("POST", "/v1/companies", b"{}"),  # 401, body unread
        ("GET", "/boom", None),
        ("GET", "/healthz", None),
    ]:
        connection.request(method, path, body=body, headers={"content-type": "application/json"})
        response = connection.getresponse()
        answers.append((response.status, response.getheader("content-type"), json.loads(response.read())))
    connection.close()
    assert [status for status, _, _ in answers] == [500, 200, 404, 401, 500, 200]
    assert answers[0][1] == "application/problem+json"
    assert answers[0][2]["detail"] == "an unexpected error occurred; it has been logged"
    assert "a bug" not in json.dumps(answers[0][2])
