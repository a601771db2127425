"""Webhook delivery latency: from a prediction's completion to its POST at a receiver.

    .venv/bin/python -m benchmarks.webhook_latency [--predictions 200] [--rate 10] [--url URL | --database-url URL]

Without --url it starts the embedded mode (granian, in-process inference and delivery, the
`make run` database var/db.sqlite3 unless --database-url) on a free port; with --url it uses a running
server, such as `make stack`, which must have WEBHOOK_ALLOW_PRIVATE=1 to reach the receiver
on 127.0.0.1. It registers a user and a webhook to a receiver in this process, submits
predictions at --rate a second, and prints the median and p99 of the time from each
prediction's `completed_at` to its arrival (same machine, same clock), and of the time from
submitting it to its arrival. Results go to var/bench/webhook-latency.json.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from benchmarks.compare import _stop, _wait_http
from benchmarks.drawings import DRAWINGS

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"


class Receiver:
    """Records when each prediction's webhook arrived (wall clock), by prediction id."""

    def __init__(self) -> None:
        self.arrived: dict[str, tuple[float, dict]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.time()
                prediction = json.loads(body)
                receiver.arrived.setdefault(prediction["id"], (now, prediction))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _embedded(database_url: str | None) -> tuple[str, subprocess.Popen]:
    OUT.mkdir(parents=True, exist_ok=True)
    # No DATABASE_URL: the embedded default, var/db.sqlite3 with its WAL and write-lock options.
    env = {**os.environ, "DATABASE_URL": database_url or "", "CELERY_BROKER_URL": "", "REDIS_URL": "",
           "CACHE_URL": "", "WEBHOOK_ALLOW_PRIVATE": "1", "DJANGO_ENV": "development", "MEDIA_ROOT": str(OUT / "media")}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    port = _free_port()
    log = open(OUT / "webhook-latency-server.log", "w")
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/granian"), "--interface", "wsgi", "--http", "1", "--no-ws", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "--blocking-threads", "16", "digitrec.wsgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return f"http://127.0.0.1:{port}", process


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _warm_up(session: requests.Session, url: str, image: bytes) -> None:
    """One prediction answered before measuring: the server's model is loaded, and so is the
    receiver's first delivery (not counted)."""
    deadline = time.monotonic() + 180
    pk = session.post(f"{url}/api/v1/predictions/", files={"image": ("d.png", image)}, timeout=30).json()["id"]
    while session.get(f"{url}/api/v1/predictions/{pk}/", timeout=30).json()["status"] == "pending":
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not answer a prediction within 180 s")
        time.sleep(0.5)
    time.sleep(1)


def run(url: str, predictions: int, rate: float) -> dict:
    receiver = Receiver()
    session = requests.Session()
    name = f"bench-{uuid.uuid4().hex[:8]}"
    token = session.post(f"{url}/api/v1/auth/register/", json={"username": name, "password": "correct-Horse-battery-9"},
                         timeout=30).json()["token"]
    session.headers["Authorization"] = f"Token {token}"
    created = session.post(f"{url}/api/v1/webhooks/", json={"url": receiver.url}, timeout=30)
    created.raise_for_status()
    images = [base64.b64decode(url.split(",", 1)[1]) for url in DRAWINGS]
    _warm_up(session, url, images[0])
    submitted: dict[str, float] = {}
    start = time.monotonic()
    for i in range(predictions):
        time.sleep(max(0.0, start + i / rate - time.monotonic()))
        response = session.post(f"{url}/api/v1/predictions/", files={"image": ("d.png", images[i % len(images)])},
                                timeout=30)
        response.raise_for_status()
        submitted[response.json()["id"]] = time.time()
    deadline = time.monotonic() + 120
    while len(submitted.keys() & receiver.arrived.keys()) < predictions and time.monotonic() < deadline:
        time.sleep(0.1)
    after_completion, after_submit = [], []
    for pk in submitted.keys() & receiver.arrived.keys():
        arrived, prediction = receiver.arrived[pk]
        completed = datetime.fromisoformat(prediction["completed_at"].replace("Z", "+00:00")).timestamp()
        after_completion.append((arrived - completed) * 1000)
        after_submit.append((arrived - submitted[pk]) * 1000)
    receiver.server.shutdown()
    result = {"url": url, "predictions": predictions, "rate": rate,
              "delivered": len(submitted.keys() & receiver.arrived.keys())}
    for label, values in (("completion_to_arrival_ms", after_completion), ("submit_to_arrival_ms", after_submit)):
        if values:
            result[label] = {"median": round(statistics.median(values), 1), "p99": round(_quantile(values, 0.99), 1),
                             "max": round(max(values), 1)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--predictions", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="predictions submitted a second")
    parser.add_argument("--url", help="a running server (default: start the embedded mode)")
    parser.add_argument("--database-url", help="the embedded mode's database (default: var/db.sqlite3)")
    args = parser.parse_args()
    process = None
    url = args.url
    if url is None:
        url, process = _embedded(args.database_url)
    try:
        _wait_http(f"{url}/healthz", 120)
        result = run(url.rstrip("/"), args.predictions, args.rate)
    finally:
        if process is not None:
            _stop(process)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "webhook-latency.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
