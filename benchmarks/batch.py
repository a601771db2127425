"""Batch endpoint throughput: images/s from submitting batches of 100 to all answered.

    .venv/bin/python -m benchmarks.batch --host http://127.0.0.1:8100 [--batches 20] [--clients 4]

Runs against a running stack; benchmarks/compare.py runs it after its Locust run. Each client
registers, then submits its share of the batches (100 canvas drawings each) through
POST /api/v1/predictions/batch/ and polls the count of its pending predictions until it is 0.
Prints images/s over the whole run (first submit to last answer).
"""
from __future__ import annotations

import argparse
import json
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

from benchmarks.drawings import DRAWINGS

BATCH = 100


def _call(method: str, url: str, body: dict | None = None, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers, method=method),
                                timeout=60) as response:
        return json.loads(response.read() or b"null")


def _client(host: str, batches: int, drawings: list[str]) -> int:
    name = f"batch-{uuid.uuid4().hex[:10]}"
    token = _call("POST", f"{host}/api/v1/auth/register/",
                  {"username": name, "password": f"Pw-{uuid.uuid4().hex}"})["token"]
    ids = []
    for b in range(batches):
        images = [drawings[(b * BATCH + i) % len(drawings)] for i in range(BATCH)]
        ids += [p["id"] for p in _call("POST", f"{host}/api/v1/predictions/batch/",
                                       {"images": images, "mode": "digit"}, token)]
    # Until none is pending. The count is all it needs: a page of one keeps each poll from
    # costing the server a hundred serialised predictions.
    while _call("GET", f"{host}/api/v1/predictions/?status=pending&page_size=1", token=token)["count"]:
        time.sleep(0.2)
    return len(ids)


def run(host: str, batches: int = 20, clients: int = 4) -> dict:
    per_client = max(1, batches // clients)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        total = sum(pool.map(lambda _: _client(host, per_client, DRAWINGS), range(clients)))
    elapsed = time.perf_counter() - started
    return {"images": total, "seconds": round(elapsed, 2), "images_per_s": total / elapsed,
            "clients": clients, "batch_size": BATCH}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="http://127.0.0.1:8100")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    r = run(args.host, args.batches, args.clients)
    print(f"batch endpoint: {r['images']} images in {r['seconds']:.1f} s = {r['images_per_s']:.0f} images/s "
          f"({r['clients']} clients, batches of {BATCH})")


if __name__ == "__main__":
    main()
