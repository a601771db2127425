"""Two abuse cases against a server that is already running (make run or make stack):

- memory: 12 tiny images of many pixels posted at once, while the resident memory of the
  given processes (--pid, repeatable: the web process, Celery workers) is sampled;
- waiting: 64 `?wait=10` requests from 16 users held at once, while /healthz and a page
  (the login page) are timed.

It starts nothing and talks only to 127.0.0.1; every request has a timeout and each case
ends within about a minute. It registers users (20 a minute per address: the auth throttle).

    python -m benchmarks.abuse --url http://127.0.0.1:8311 --pid 12345 memory
    python -m benchmarks.abuse --url http://127.0.0.1:8311 waiting
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import secrets
import statistics
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from PIL import Image, ImageDraw

TIMEOUT = 60


def _request(url: str, *, body: dict | None = None, token: str = "") -> tuple[int, dict | None]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (TimeoutError, urllib.error.URLError, ConnectionError):
        return 0, None  # no answer in time
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def _register(base: str) -> str:
    for _ in range(12):  # the auth throttle: wait for it, a minute at most
        status, body = _request(f"{base}/api/v1/auth/register/", body={
            "username": f"abuse-{secrets.token_hex(4)}", "password": f"Pw{secrets.token_hex(12)}-Q9"})
        if status != 429:
            break
        time.sleep(5)
    if status != 201:
        raise SystemExit(f"could not register a user: {status} {body}")
    return body["token"]


def _image(side: int, fmt: str, mode: str = "L") -> str:
    image = Image.new(mode, (side, side), 255 if mode == "L" else (255, 255, 255))
    ImageDraw.Draw(image).line((side // 3, side // 4, side * 2 // 3, side // 4, side // 2, side * 3 // 4),
                               fill=0, width=max(1, side // 40))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    return base64.b64encode(buffer.getvalue()).decode()


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def memory(base: str, pids: list[int], side: int, count: int, settle: float) -> None:
    token = _register(base)
    image = _image(side, "WEBP")
    idle = {pid: _rss_mb(pid) for pid in pids}
    peak = dict(idle)
    stop = threading.Event()

    def sample():
        while not stop.wait(0.02):
            for pid in pids:
                peak[pid] = max(peak[pid], _rss_mb(pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    with ThreadPoolExecutor(count) as pool:
        answers = list(pool.map(lambda _: _request(f"{base}/api/v1/predictions/", body={"image": image},
                                                   token=token), range(count)))
    answered = time.monotonic() - started
    time.sleep(settle)  # decodes that happen after the answer (in a worker or runner thread)
    stop.set()
    sampler.join()
    codes = sorted(status for status, _ in answers)
    print(f"{count} x {side}x{side} lossless WebP ({len(image) * 3 // 4} bytes each) at once: "
          f"statuses {codes}, all answered in {answered:.1f} s")
    first = answers[0][1] or {}
    print("first answer:", json.dumps(first.get("error") or {"status": first.get("status")}))
    for pid in pids:
        print(f"pid {pid}: idle {idle[pid]:.0f} MB, peak {peak[pid]:.0f} MB, +{peak[pid] - idle[pid]:.0f} MB")


def waiting(base: str, users: int, per_user: int, side: int, probes: int) -> None:
    tokens = [_register(base) for _ in range(users)]
    image = _image(side, "PNG", "RGB")  # slow enough to decode that the runners fall behind
    results = []

    def post(token):
        started = time.monotonic()
        status, _ = _request(f"{base}/api/v1/predictions/?wait=10", body={"image": image}, token=token)
        results.append((status, time.monotonic() - started))

    threads = [threading.Thread(target=post, args=(token,)) for token in tokens for _ in range(per_user)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # let them reach the server and start waiting
    latencies = {"/healthz": [], "/accounts/login/": []}
    for _ in range(probes):
        for path, times in latencies.items():
            started = time.monotonic()
            _request(f"{base}{path}")
            times.append(time.monotonic() - started)
        time.sleep(0.2)
    for thread in threads:
        thread.join(TIMEOUT)
    statuses = {code: sum(1 for s, _ in results if s == code) for code in sorted({s for s, _ in results})}
    print(f"{len(threads)} POST ?wait=10 ({users} users x {per_user}, {side}x{side} PNG): statuses {statuses}, "
          f"longest {max(t for _, t in results):.1f} s")
    for path, times in latencies.items():
        print(f"{path} behind them, {probes} probes: median {statistics.median(times):.3f} s, "
              f"max {max(times):.3f} s; in order: {' '.join(f'{t:.2f}' for t in times)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--pid", type=int, action="append", default=[], help="a process to watch (memory)")
    parser.add_argument("case", choices=["memory", "waiting"])
    parser.add_argument("--side", type=int, help="image side in pixels (memory: 6000, waiting: 3000)")
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--settle", type=float, default=10.0)
    args = parser.parse_args()
    base = args.url.rstrip("/")
    if urlsplit(base).hostname != "127.0.0.1":
        raise SystemExit("only http://127.0.0.1:<port> is allowed")
    if args.case == "memory":
        memory(base, args.pid, args.side or 6000, min(args.count, 32), args.settle)
    else:
        waiting(base, users=16, per_user=4, side=args.side or 3000, probes=20)


if __name__ == "__main__":
    main()
