"""Two checkouts under the same load, alternated: A, B, A, B, ... (`benchmarks.compare --only project`).

    .venv/bin/python -m benchmarks.ab /path/to/old /path/to/new [--rounds 2] [--duration 40] [--users 50]

Each checkout runs its own `benchmarks/compare.py --only project` (its own `make stack`,
on a database of its own: ``<database>_a`` and ``<database>_b``), one after the other, so
both see the same machine in the same hour. Prints, per side, the median of the rounds'
completed predictions/s, latency and CPU milliseconds per prediction of each part, and the
ratios B / A; writes them to var/bench/ab-*.json. The CPU per prediction is the steadier
figure on a shared machine: another job's load slows both sides' throughput, but changes
less what each prediction costs.

The database, Redis and broker come from DATABASE_URL (its name is the prefix) and
CELERY_BROKER_URL, which are passed to each run's `make stack`. Both checkouts may share one
virtualenv (a symlinked .venv): their requirement files are dated back to its install stamp,
so that `make stack` does not reinstall it.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("web", "worker", "postgres", "redis")


def _keep_the_virtualenv(checkout: Path) -> None:
    stamp = checkout / ".venv" / ".installed"
    if not stamp.exists():
        return
    when = stamp.stat().st_mtime - 1
    for name in ("requirements.txt", "requirements-dev.txt", "clients/python/pyproject.toml"):
        path = checkout / name
        if path.exists() and path.stat().st_mtime > when:
            os.utime(path, (when, when))


def _run(checkout: Path, database_url: str, args) -> dict:
    _keep_the_virtualenv(checkout)
    out = checkout / "var" / "bench"
    before = set(out.glob("compare-*.json")) if out.exists() else set()
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run([str(checkout / ".venv" / "bin" / "python"), "-m", "benchmarks.compare", "--only", "project",
                    "--users", str(args.users), "--duration", str(args.duration), "--port", str(args.port)],
                   cwd=checkout, env=env, check=True, stdout=subprocess.DEVNULL)
    written = sorted(set(out.glob("compare-*.json")) - before)
    if not written:
        raise RuntimeError(f"{checkout}: benchmarks.compare wrote no result")
    result = json.loads(written[-1].read_text())["project"]
    # Read from Locust's own table, which every version of compare.py writes.
    with open(out / "project_stats.csv", newline="") as fh:
        polls = sum(int(row["Request Count"]) for row in csv.DictReader(fh) if row["Name"] == "poll")
    result["polls_per_prediction"] = round(polls / max(result["predictions"] - result["failures"], 1), 3)
    return result


def _summary(runs: list[dict]) -> dict:
    return {
        "predictions_per_s": [round(r["predictions_per_s"], 1) for r in runs],
        "median_predictions_per_s": statistics.median(r["predictions_per_s"] for r in runs),
        "median_p50_ms": statistics.median(r["latency_p50_ms"] for r in runs),
        "median_p99_ms": statistics.median(r["latency_p99_ms"] for r in runs),
        "failures": sum(r["failures"] + r["http_failures"] for r in runs),
        "median_polls_per_prediction": statistics.median(r["polls_per_prediction"] for r in runs),
        "median_cpu_ms": {part: statistics.median(r["cpu_ms_per_prediction"][part] for r in runs) for part in PARTS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="the first checkout (the reference)")
    parser.add_argument("b", type=Path, help="the second checkout")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=40)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    if not os.environ.get("CELERY_BROKER_URL"):
        sys.exit("set CELERY_BROKER_URL (the Redis both stacks use) and DATABASE_URL")
    database = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/digitrec")
    sides = {"a": (args.a.resolve(), f"{database}_a"), "b": (args.b.resolve(), f"{database}_b")}
    runs: dict[str, list[dict]] = {"a": [], "b": []}
    for round_number in range(1, args.rounds + 1):
        for side, (checkout, url) in sides.items():
            result = _run(checkout, url, args)
            runs[side].append(result)
            cpu = result["cpu_ms_per_prediction"]
            print(f"round {round_number} {side}: {result['predictions_per_s']:.1f} predictions/s, CPU ms "
                  + " / ".join(f"{cpu[p]:.2f}" for p in PARTS) + f", {result['polls_per_prediction']:.2f} polls "
                  "per prediction", flush=True)
    summary = {side: _summary(results) for side, results in runs.items()}
    a, b = summary["a"], summary["b"]
    print(f"\n{args.users} users, {args.duration} s a run, {args.rounds} alternated rounds; medians")
    print(f"{'':24} {'A':>9} {'B':>9} {'B / A':>7}")
    rows = [("predictions/s", a["median_predictions_per_s"], b["median_predictions_per_s"]),
            ("p50 ms", a["median_p50_ms"], b["median_p50_ms"]), ("p99 ms", a["median_p99_ms"], b["median_p99_ms"])]
    rows += [(f"CPU ms/prediction {p}", a["median_cpu_ms"][p], b["median_cpu_ms"][p]) for p in PARTS]
    rows.append(("CPU ms/prediction, all", sum(a["median_cpu_ms"].values()), sum(b["median_cpu_ms"].values())))
    for name, x, y in rows:
        print(f"{name:24} {x:9.2f} {y:9.2f} {y / x if x else float('nan'):7.2f}")
    print(f"failures: A {a['failures']}, B {b['failures']}; polls per prediction (median): "
          f"A {a['median_polls_per_prediction']:.2f}, B {b['median_polls_per_prediction']:.2f}")
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"ab-{datetime.now():%Y%m%d-%H%M%S}.json").write_text(json.dumps(
        {"a": str(args.a), "b": str(args.b), "users": args.users, "duration_s": args.duration,
         "rounds": args.rounds, "runs": runs, "summary": summary}, indent=2))


if __name__ == "__main__":
    main()
