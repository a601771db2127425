"""DigitRec (`make stack`) and the original report's app, loaded the same way, one after the other.

    .venv/bin/python -m benchmarks.compare [--users 50] [--duration 60] [--only project|baseline] [--rate R]

For each: start it, wait until it answers, run Locust headless (benchmarks/locustfile.py,
same users, spawn rate and duration), stop it. Prints completed predictions/s, the
submit-to-result latency (p50, p99), failures, the resident memory of DigitRec's worker
processes sampled during the run, and the CPU time each part of DigitRec used per completed
prediction; writes everything to var/bench/.
The baseline comes from ../shared/baseline and runs in its own virtualenv
(/tmp/baseline-venv, created on first use from its requirements.txt).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import batch

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT.parent / "shared" / "baseline"
BASELINE_VENV = Path("/tmp/baseline-venv")
OUT = ROOT / "var" / "bench"


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s")


def _start(command: list[str], *, cwd: Path, env: dict, log: Path) -> subprocess.Popen:
    handle = open(log, "w")
    return subprocess.Popen(command, cwd=cwd, env={**os.environ, **env}, stdout=handle,
                            stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class WorkerMemory(threading.Thread):
    """Largest resident set of any Celery worker process, sampled once a second."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            pids = subprocess.run(["pgrep", "-f", "celery -A digitrec worker"], capture_output=True,
                                  text=True).stdout.split()
            for pid in pids:
                self.peak_mb = max(self.peak_mb, _rss_mb(int(pid)))


def register(host: str, users: int) -> Path:
    """Register one account per Locust user before the run; their tokens go to a file."""
    tokens = []
    for _ in range(users):
        body = json.dumps({"username": f"load-{uuid.uuid4().hex[:12]}", "password": f"Pw-{uuid.uuid4().hex}"})
        request = urllib.request.Request(f"{host}/api/v1/auth/register/", data=body.encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            tokens.append(json.load(response)["token"])
    path = OUT / "tokens.json"
    path.write_text(json.dumps(tokens))
    return path


CPU_GROUPS = {"web": "digitrec.wsgi", "worker": "celery -A digitrec worker", "postgres": "postgres",
              "redis": "redis-server"}


def cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) used so far by the live processes of each group."""
    totals = dict.fromkeys(CPU_GROUPS, 0.0)
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        group = next((g for g, needle in CPU_GROUPS.items() if needle in command), None)
        if group:
            fields = stat[stat.rfind(")") + 2:].split()
            totals[group] += (int(fields[11]) + int(fields[12])) / ticks
    return totals


def _locust(host: str, user_class: str, users: int, duration: int, prefix: Path, env: dict | None = None) -> dict:
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "locust"), "-f", str(ROOT / "benchmarks" / "locustfile.py"),
         "--headless", "-u", str(users), "-r", str(users), "-t", f"{duration}s", "--host", host,
         "--csv", str(prefix), "--only-summary", "--stop-timeout", "15", user_class],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, check=False,
        stdout=subprocess.DEVNULL, stderr=open(f"{prefix}.locust.log", "w"),
    )
    with open(f"{prefix}_stats.csv", newline="") as fh:
        rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(fh)}
    row = rows[("PREDICT", "prediction")]
    done = int(row["Request Count"]) - int(row["Failure Count"])
    return {
        "predictions": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "predictions_per_s": done / duration,
        "latency_p50_ms": float(row["50%"]),
        "latency_p99_ms": float(row["99%"]),
        "latency_mean_ms": float(row["Average Response Time"]),
        "http_failures": sum(int(r["Failure Count"]) for k, r in rows.items() if k[0] not in ("PREDICT", "")),
        # Answered 202 pending, then polled (every 50 ms): each poll is a request of its own.
        "polls_per_prediction": round(int(rows[("GET", "poll")]["Request Count"]) / max(done, 1), 3)
        if ("GET", "poll") in rows else 0.0,
    }


def run_project(users: int, duration: int, port: int) -> dict:
    # Each of the 50 users waits for one answer at a time: the per-process cap on waiting
    # requests (half of WEB_THREADS by default) is for more waits than threads, which
    # `benchmarks.abuse waiting` measures. Under it, a third of these users would be answered
    # 202 at once and poll every 50 ms (docs/BENCHMARKS.md, "Where a prediction's CPU goes").
    env = {"PORT": str(port), "API_AUTH_RATE": "100000/min", "WEB_ACCESS_LOG": "0",
           "MAX_WAITING_PER_PROCESS": os.environ.get("MAX_WAITING_PER_PROCESS", "32")}
    stack = _start(["make", "stack"], cwd=ROOT, env=env, log=OUT / "project-stack.log")
    memory = WorkerMemory()
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", timeout=240)
        tokens = register(f"http://127.0.0.1:{port}", users)
        memory.start()
        before = cpu_seconds()
        result = _locust(f"http://127.0.0.1:{port}", "DigitRecUser", users, duration, OUT / "project",
                         env={"DIGITREC_TOKENS": str(tokens)})
        after = cpu_seconds()
        done = result["predictions"] - result["failures"]
        # Where the CPU goes: milliseconds per completed prediction, by process group.
        result["cpu_ms_per_prediction"] = {g: round(1000 * (after[g] - before[g]) / max(done, 1), 2)
                                           for g in CPU_GROUPS}
        result["batch"] = batch.run(f"http://127.0.0.1:{port}")
    finally:
        memory.stopped.set()
        _stop(stack)
    result["worker_peak_rss_mb"] = round(memory.peak_mb, 1)
    return result


def run_baseline(users: int, duration: int, port: int) -> dict:
    python = BASELINE_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(BASELINE_VENV)], check=True)
        subprocess.run([str(BASELINE_VENV / "bin" / "pip"), "install", "-q", "-r",
                        str(BASELINE / "requirements.txt")], check=True)
    app = _start([str(python), "app.py"], cwd=BASELINE,
                 env={"SEED_MODEL": str(BASELINE / "seed.keras"), "PORT": str(port)},
                 log=OUT / "baseline-app.log")
    try:
        _wait_http(f"http://127.0.0.1:{port}/", timeout=120)
        return _locust(f"http://127.0.0.1:{port}", "BaselineUser", users, duration, OUT / "baseline")
    finally:
        _stop(app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--only", choices=["project", "baseline"])
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--rate", type=float, default=0,
                        help="about this many tasks/s per user (a lighter load); 0: as fast as answered")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ["DIGITREC_USER_RATE"] = str(args.rate)
    results = {"when": datetime.now(timezone.utc).isoformat(), "users": args.users,
               "duration_s": args.duration, "user_rate": args.rate, "cpus": os.cpu_count()}
    if args.only != "baseline":
        results["project"] = run_project(args.users, args.duration, args.port)
    if args.only != "project":
        results["baseline"] = run_baseline(args.users, args.duration, args.port + 1)
    (OUT / f"compare-{datetime.now():%Y%m%d-%H%M%S}.json").write_text(json.dumps(results, indent=2))
    pace = f"about {args.rate:g} tasks/s per user" if args.rate else "each as fast as answered"
    print(f"{args.users} users ({pace}), {args.duration} s each, load generator on this "
          f"{os.cpu_count()}-CPU machine")
    print(f"{'':10} {'pred/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'failed':>7}")
    for name in ("project", "baseline"):
        if name in results:
            r = results[name]
            print(f"{name:10} {r['predictions_per_s']:8.1f} {r['latency_p50_ms']:8.0f} {r['latency_p99_ms']:8.0f} "
                  f"{r['latency_mean_ms']:8.0f} {r['failures'] + r['http_failures']:7d}")
    if "project" in results and "baseline" in results and results["baseline"]["predictions_per_s"]:
        ratio = results["project"]["predictions_per_s"] / results["baseline"]["predictions_per_s"]
        print(f"project / baseline predictions/s: {ratio:.1f}x")
    if "project" in results:
        b = results["project"]["batch"]
        print(f"batch endpoint: {b['images']} images in {b['seconds']:.1f} s = {b['images_per_s']:.0f} images/s")
        print(f"largest Celery worker process: {results['project']['worker_peak_rss_mb']:.0f} MB resident")
        cpu = results["project"]["cpu_ms_per_prediction"]
        print("CPU per completed prediction: " + ", ".join(f"{g} {ms:.1f} ms" for g, ms in cpu.items()))
        print(f"polls per prediction: {results['project']['polls_per_prediction']:.2f}")


if __name__ == "__main__":
    main()
