"""The client's HTTP layer: an answer of 429 or 503 is retried after its Retry-After, and a
spent RateLimit budget makes the client wait before its next request. The server here is a
stand-in on loopback that answers as a busy proxy or a throttled API would."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from digitrec_client.api import ApiError, Client


@pytest.fixture
def stand_in():
    """``(url, script, seen)``: answers each GET with the next (status, headers, body) of
    ``script`` (then 200 and the limits), and records when each request came."""
    script, seen = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            seen.append((time.monotonic(), self.headers.get("Authorization")))
            status, headers, body = script.pop(0) if script else (200, {}, {"max_batch_images": 7})
            payload = json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", script, seen
    server.shutdown()


BUSY = {"error": {"code": "busy", "message": "Busy.", "fields": {}}}


def test_a_busy_answer_is_retried_after_its_retry_after(stand_in):
    url, script, seen = stand_in
    script += [(503, {"Retry-After": "1"}, BUSY), (429, {"Retry-After": "1"}, BUSY)]

    limits = Client(url, "secret-token").limits()

    assert limits["max_batch_images"] == 7 and len(seen) == 3
    assert seen[1][0] - seen[0][0] >= 0.95 and seen[2][0] - seen[1][0] >= 0.95
    assert {auth for _, auth in seen} == {"Token secret-token"}


def test_a_spent_budget_waits_for_its_reset(stand_in):
    url, script, seen = stand_in
    script.append((200, {"RateLimit": '"user";r=0;t=1', "RateLimit-Policy": '"user";q=5;w=60'}, {}))
    client = Client(url, "t")

    client.limits()
    client.limits()

    assert seen[1][0] - seen[0][0] >= 0.95


def test_a_refusal_is_not_retried_and_says_why(stand_in):
    url, script, seen = stand_in
    script.append((401, {}, {"error": {"code": "authentication_failed", "message": "Invalid token.", "fields": {}}}))

    with pytest.raises(ApiError, match="401 authentication_failed: Invalid token."):
        Client(url, "t").limits()
    assert len(seen) == 1
