"""Soak: `make stack` under Locust with a worker SIGKILL and a Redis restart in the middle.

    .venv/bin/python -m benchmarks.soak [--users 50] [--duration 300]

The stack runs on a redis-server of its own (a free port; the shared one stays up) and
its own PostgreSQL database. One third into the run a Celery worker process is killed
with SIGKILL (its supervisor starts it again); two thirds in, Redis is stopped for 5 s and
started again, empty. After the load ends it waits up to 60 s, then counts every
prediction the load submitted: done, failed (with a reason) and still pending (lost), and
compares every answer a user was given with the one its row holds.
Results go to var/bench/soak-*.json; docs/RELIABILITY.md records them.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import subprocess
import threading
import time
from datetime import datetime

from benchmarks.compare import OUT, ROOT, _start, _stop, _wait_http, register

DATABASE = "digitrec_soak"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis(port: int) -> subprocess.Popen:
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    time.sleep(0.5)
    return process


def _worker_pids() -> list[int]:
    # The prediction workers' Celery processes themselves (named worker-<pid>, the webhook
    # worker webhooks-<pid>), not scripts/keep_running.py which supervises them.
    out = subprocess.run(["pgrep", "-f", "python[0-9.]* [^ ]*bin/celery -A digitrec worker .* -n worker-"],
                         capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


ANSWERS = OUT / "soak-answers.csv"


def _count(env: dict) -> dict:
    """Predictions by status, and how many answers users were given that differ from the
    row (a prediction answered twice, differently, would show here)."""
    script = f"""
import json, uuid
from recognition.models import Prediction
load = Prediction.objects.filter(owner__username__startswith="load-")
seen = dict(line.strip().split(",", 1) for line in open({str(ANSWERS)!r}) if line.strip())
rows = dict(load.filter(pk__in=list(seen)).values_list("pk", "answer"))
counts = {{status: load.filter(status=status).count() for status in ("done", "failed", "pending")}}
counts["failed_reasons"] = sorted(set(load.filter(status="failed").values_list("error_code", flat=True)))
counts["answers_given"] = len(seen)
counts["answers_differing_from_the_row"] = sum(rows.get(uuid.UUID(k)) != v for k, v in seen.items())
print(json.dumps(counts))
"""
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "manage.py", "shell", "-c", script],
                         cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=300)
    parser.add_argument("--port", type=int, default=8200)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    redis_port = _free_port()
    redis = _redis(redis_port)
    env = {"PORT": str(args.port), "API_AUTH_RATE": "100000/min", "WEB_ACCESS_LOG": "0",
           "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
           "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}"}
    # A fresh database, so only this run's predictions are counted (make stack creates it).
    subprocess.run(["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)
    ANSWERS.write_text("")
    stack = _start(["make", "stack"], cwd=ROOT, env=env, log=OUT / "soak-stack.log")
    events: list[str] = []
    try:
        _wait_http(f"http://127.0.0.1:{args.port}/healthz", timeout=240)
        tokens = register(f"http://127.0.0.1:{args.port}", args.users)
        locust = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "locust"), "-f", str(ROOT / "benchmarks" / "locustfile.py"),
             "--headless", "-u", str(args.users), "-r", str(args.users), "-t", f"{args.duration}s",
             "--host", f"http://127.0.0.1:{args.port}", "--csv", str(OUT / "soak"), "--only-summary",
             "--stop-timeout", "15", "DigitRecUser"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "DIGITREC_ANSWERS": str(ANSWERS),
                          "DIGITREC_TOKENS": str(tokens)},
            stdout=subprocess.DEVNULL,
            stderr=open(OUT / "soak.locust.log", "w"))

        def faults() -> None:
            time.sleep(args.duration / 3)
            pids = _worker_pids()
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                events.append(f"{time.strftime('%H:%M:%S')} SIGKILL worker {pids[0]}")
            time.sleep(args.duration / 3)
            redis.kill()
            redis.wait()
            events.append(f"{time.strftime('%H:%M:%S')} Redis stopped")
            time.sleep(5)
            events.append(f"{time.strftime('%H:%M:%S')} Redis started again (empty)")
            _redis(redis_port)

        threading.Thread(target=faults, daemon=True).start()
        locust.wait()
        load_ended = time.monotonic()
        counts = _count(env)
        while counts["pending"] and time.monotonic() - load_ended < 60:
            time.sleep(2)
            counts = _count(env)
        counts["seconds_after_load_to_settle"] = round(time.monotonic() - load_ended, 1)
    finally:
        _stop(stack)
        subprocess.run(["pkill", "-f", f"redis-server 127.0.0.1:{redis_port}"], check=False)
    with open(OUT / "soak_stats.csv", newline="") as fh:
        rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(fh)}
    http_failures = {f"{k[0]} {k[1]}": int(r["Failure Count"]) for k, r in rows.items()
                     if k[0] and int(r["Failure Count"])}
    result = {"users": args.users, "duration_s": args.duration, "events": events, "predictions": counts,
              "locust_failures": http_failures,
              "completed_per_s": int(rows[("PREDICT", "prediction")]["Request Count"]) / args.duration}
    (OUT / f"soak-{datetime.now():%Y%m%d-%H%M%S}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
