"""What one prediction costs in-process: SQL queries, Redis round trips, CPU, and a profile.

    DATABASE_URL=postgres://...  CELERY_BROKER_URL=redis://127.0.0.1:6379/5 \
        .venv/bin/python -m benchmarks.request_cost [--requests 200] [--batch 4] [--profile 100]
    ... benchmarks.request_cost --ablate 3     # the CPU of each feature of the request

Run from the checkout to measure (any commit: it uses nothing of the project but its
settings, its URLs, benchmarks/drawings.py and its run function), e.g. with
``python /path/to/benchmarks/request_cost.py`` from an older checkout. It sets up the
production settings (DJANGO_ENV=production) against the database and the Redis of the
environment, migrates, makes one user with a token, and sends the load test's request
(benchmarks/locustfile.py: ``POST /api/v1/predictions/?wait=10`` with a canvas drawing)
through Django's test client, one after another. A thread of this script stands in for the
worker: it takes each task off the broker's queue and announces the prediction finished
with no fields, so the request's wait returns at once and no model runs. (So never run it
beside a stack on the same broker: it would take that stack's tasks.)

Prints per request the CPU time of the process, the SQL queries, the Redis commands and
round trips (Celery's publish included) and the redis-py client objects made; then runs
the predictions made, ``--batch`` at a time, as a worker's runner does, and prints the same
per prediction (the model's threads included in the CPU). ``--profile N`` profiles N more
requests (thread CPU time) into var/request_cost.prof; RUN_PROFILE=1 the runs, into
var/run_cost.prof. ``--ablate`` measures the request with every feature and without each
in turn (CSP, the locale middleware, the profile-language middleware, the throttle with
its RateLimit fields, the waiting slots), alternated.
"""
from __future__ import annotations

import argparse
import base64
import cProfile
import collections
import json
import os
import pstats
import sys
import threading
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digitrec.settings")
os.environ.setdefault("DJANGO_ENV", "production")
os.environ.setdefault("DJANGO_SECRET_KEY", "request-cost-" + "x" * 40)
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("EMAIL_BACKEND", "console")
os.environ.setdefault("API_USER_RATE", "1000000/min")
sys.path.insert(0, os.getcwd())

import redis  # noqa: E402
from redis.client import Pipeline, Redis  # noqa: E402

_counts: collections.Counter = collections.Counter()
_commands: collections.Counter = collections.Counter()
_worker_thread = threading.local()


def _counted(name: str):
    def wrap(original):
        def counting(self, *args, **kwargs):
            if not getattr(_worker_thread, "is_worker", False):
                _counts[name] += 1
                if name == "command" and not isinstance(self, Pipeline):
                    _commands[str(args[0]).upper()] += 1
                    _counts["round trip"] += 1
                if name == "pipeline":
                    _counts["round trip"] += 1
                    for command in getattr(self, "command_stack", []):
                        command_args = command[0] if isinstance(command, tuple) else command.args
                        _commands[f"{str(command_args[0]).upper()} (pipelined)"] += 1
            return original(self, *args, **kwargs)
        return counting
    return wrap


Redis.execute_command = _counted("command")(Redis.execute_command)
Pipeline.execute = _counted("pipeline")(Pipeline.execute)
Redis.__init__ = _counted("client object")(Redis.__init__)


class _QueryCounter:
    """Counts queries by their first words; unlike CaptureQueriesContext it does not format
    each query with its parameters (a finished prediction's JSON), which costs CPU itself."""

    def __init__(self, counts: collections.Counter):
        self.counts = counts

    def __call__(self, execute, sql, params, many, context):
        self.counts[("many: " if many else "") + sql[:70]] += 1
        return execute(sql, params, many, context)


def _stand_in_worker(url: str, queues: list[str], stop: threading.Event) -> None:
    """Take each prediction task off the queue and announce it finished, at once."""
    _worker_thread.is_worker = True
    client = redis.Redis.from_url(url)
    while not stop.is_set():
        item = client.brpop(queues, timeout=0.2)  # kombu LPUSHes, its consumers pop the right
        if not item:
            continue
        message = json.loads(item[1])
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        ids = args[0] if args and isinstance(args[0], list) else []
        pipe = client.pipeline(transaction=False)
        for pk in ids:
            pipe.rpush(f"digitrec:finished:{pk}", "{}")
            pipe.expire(f"digitrec:finished:{pk}", 60)
        pipe.execute()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", type=int, default=0, help="profile this many more requests")
    parser.add_argument("--wait", default="10")
    parser.add_argument("--ablate", type=int, default=0, metavar="ROUNDS",
                        help="instead: the CPU of a request without each feature in turn, alternated ROUNDS times")
    parser.add_argument("--batch", type=int, default=4,
                        help="then run the predictions made, this many at a time, as a worker does (0: do not)")
    args = parser.parse_args()

    import django
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from rest_framework.authtoken.models import Token

    from benchmarks.drawings import DRAWINGS

    setup_test_environment()  # the test client's host and template hooks
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    user, _ = get_user_model().objects.get_or_create(username="request-cost")
    token, _ = Token.objects.get_or_create(user=user)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")

    stop = threading.Event()
    queues = [getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery"), "celery"]
    worker = threading.Thread(target=_stand_in_worker, args=(settings.CELERY_BROKER_URL, queues, stop), daemon=True)
    worker.start()

    def post(i: int):
        return post.client.post(f"/api/v1/predictions/?wait={args.wait}", {"image": DRAWINGS[i % len(DRAWINGS)],
                           "mode": "digit"}, content_type="application/json")

    post.authorization = f"Token {token.key}"
    post.client = client
    if args.ablate:
        _ablate(post, args.requests, args.ablate)
        stop.set()
        return
    for i in range(20):  # warm up: imports, connections, the first batcher threads
        begun = time.perf_counter()
        response = post(i)
        assert response.status_code in (201, 202), response.content
        if time.perf_counter() - begun > 5:
            sys.exit("the stand-in worker did not answer: is the broker's queue the one read here?")
    _counts.clear()
    _commands.clear()
    queries: collections.Counter = collections.Counter()
    made = []
    started = time.process_time()
    wall = time.perf_counter()
    for i in range(args.requests):
        with connection.execute_wrapper(_QueryCounter(queries)):
            response = post(i)
        assert response.status_code in (201, 202), response.content
        made.append(response.json()["id"])
    cpu_ms = 1000 * (time.process_time() - started) / args.requests
    wall_ms = 1000 * (time.perf_counter() - wall) / args.requests
    n = args.requests
    print(f"per request ({n}): CPU {cpu_ms:.2f} ms, wall {wall_ms:.2f} ms, "
          f"SQL queries {sum(queries.values()) / n:.2f}, "
          + ", ".join(f"{name}s {count / n:.2f}" for name, count in sorted(_counts.items())))
    print("SQL:")
    for sql, count in queries.most_common():
        print(f"  {count / n:5.2f}  {sql}")
    print("Redis commands:")
    for command, count in _commands.most_common():
        print(f"  {count / n:5.2f}  {command}")
    if args.batch:
        _report_runs(made, args.batch)
    if args.profile:
        profiler = cProfile.Profile(time.thread_time)
        profiler.enable()
        for i in range(args.profile):
            post(i)
        profiler.disable()
        profiler.dump_stats("var/request_cost.prof")
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(25)
    stop.set()
    worker.join()


def _without(name: str):
    """What to undo for one feature; returns a function that puts it back."""
    from django.conf import settings
    from django.test import override_settings

    middleware = {"csp": "csp.middleware.CSPMiddleware", "locale": "django.middleware.locale.LocaleMiddleware",
                  "profile language": "accounts.middleware.ProfileLanguageMiddleware"}
    if name in middleware:
        override = override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != middleware[name]])
        override.enable()
        return override.disable
    if name == "throttle and RateLimit fields":
        from recognition.api import PredictionListCreate
        override = override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if "RateLimitHeaders" not in m])
        override.enable()
        PredictionListCreate.throttle_classes = []
        return lambda: (override.disable(), delattr(PredictionListCreate, "throttle_classes"))
    if name == "waiting slots":
        from contextlib import nullcontext

        from recognition import waiting
        slot = waiting.waiting_slot
        waiting.waiting_slot = lambda user: nullcontext(True)
        return lambda: setattr(waiting, "waiting_slot", slot)
    raise ValueError(name)


ABLATIONS = ("csp", "locale", "profile language", "throttle and RateLimit fields", "waiting slots")


def _ablate(post, requests: int, rounds: int) -> None:
    """CPU per request with every feature, then without each in turn (a fresh test client
    each time, so the middleware chain is built again), alternated ``rounds`` times."""
    from django.test import Client

    results: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name in ("all features", *ABLATIONS):
            undo = _without(name) if name != "all features" else (lambda: None)
            try:
                post.client = Client(HTTP_AUTHORIZATION=post.authorization)
                for i in range(10):
                    post(i)
                started = time.process_time()
                for i in range(requests):
                    post(i)
                results.setdefault(name, []).append(1000 * (time.process_time() - started) / requests)
            finally:
                undo()
    full = sorted(results["all features"])[len(results["all features"]) // 2]
    print(f"CPU per request, median of {rounds} alternated rounds of {requests}:")
    for name, values in results.items():
        median = sorted(values)[len(values) // 2]
        print(f"  {name:32} {median:6.2f} ms" + ("" if name == "all features" else f"  (saves {full - median:+.2f})"))


def _report_runs(ids: list[str], size: int) -> None:
    """Run the predictions ``ids`` as a worker does, ``size`` at a time, and print what a
    prediction costs: CPU (the model's threads included), SQL queries and Redis commands."""
    from django.conf import settings
    from django.db import connection

    from ml.inference import configure_threads
    try:
        from recognition.runs import predictions_run
    except ImportError:  # before recognition/runs.py
        from recognition.services import predictions_run
    configure_threads(settings.INFERENCE_TF_THREADS, 1)
    predictions_run(ids[:size])  # warm up: the model
    ids = ids[size:]
    _counts.clear()
    _commands.clear()
    queries: collections.Counter = collections.Counter()
    profiler = cProfile.Profile(time.thread_time) if os.environ.get("RUN_PROFILE") else None
    if profiler:  # then the CPU figure includes the profiler's own
        profiler.enable()
    started = time.process_time()
    for start in range(0, len(ids), size):
        with connection.execute_wrapper(_QueryCounter(queries)):
            predictions_run(ids[start:start + size])
    n = len(ids)
    print(f"run, per prediction ({n}, {size} a batch): CPU {1000 * (time.process_time() - started) / n:.2f} ms, "
          f"SQL queries {sum(queries.values()) / n:.2f}, "
          + ", ".join(f"{name}s {count / n:.2f}" for name, count in sorted(_counts.items())))
    for sql, count in queries.most_common():
        print(f"  {count / n:5.2f}  {sql}")
    if profiler:
        profiler.disable()
        profiler.dump_stats("var/run_cost.prof")


if __name__ == "__main__":
    main()
