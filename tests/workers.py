"""A real Celery worker process for integration tests, on the real Redis and the test
database. Tests that use it need ``transactional_db`` so their rows are committed and a
separate process can see them."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """DATABASE_URL pointing at the test database pytest-django created."""
    db = settings.DATABASES["default"]
    params = conninfo_to_dict(make_conninfo(os.environ["DATABASE_URL"]))
    user = params.get("user", "postgres")
    password = f":{params['password']}" if params.get("password") else ""
    host, port = params.get("host", "127.0.0.1"), params.get("port", "5432")
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


class Worker:
    """``celery worker`` in a subprocess; its output is kept to explain a failure.

    The threads pool is what ``make stack`` runs; prefork is there for the tests of a
    killed child process. ``consumes``: the queues it takes tasks from (``-Q``), by default
    ``queue``'s, the predictions'; one without that queue loads no model."""

    def __init__(self, *, broker_url: str, queue: str, media_root: Path, pool: str = "threads",
                 concurrency: int = 4, model_dir: Path | None = None, supervised: bool = False,
                 extra_env: dict[str, str] | None = None, consumes: list[str] | None = None):
        self.queue, self.media_root = queue, media_root
        self.runs_predictions = consumes is None or queue in consumes
        queues = [f"--queues={','.join(consumes)}"] if consumes else []
        env = {
            **os.environ,
            **(extra_env or {}),
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": broker_url,
            "REDIS_URL": broker_url,  # announces where this process waits (celery_transport)
            "CELERY_QUEUE": queue,
            "MEDIA_ROOT": str(media_root),
            "DJANGO_ENV": "development",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("ML_MODEL_DIR", None)
        if model_dir is not None:  # else the test database's active version serves
            env["ML_MODEL_DIR"] = str(model_dir)
        self.lines: list[str] = []
        # Supervised: under scripts/keep_running.py, as `make stack` runs workers.
        prefix = [sys.executable, str(ROOT / "scripts" / "keep_running.py")] if supervised else []
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "celery", "-A", "digitrec", "worker", f"--pool={pool}",
             f"--concurrency={concurrency}", "--loglevel=INFO", "--without-gossip",
             "--without-mingle", "--without-heartbeat", *queues, "-n", f"test-{'-'.join(consumes or [queue])}@%h"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    @property
    def output(self) -> str:
        return "\n".join(self.lines[-60:])

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = "worker ready with model" if self.runs_predictions else "without the model"
            if any(" ready." in line for line in self.lines) and any(ready in line for line in self.lines):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"the Celery worker did not become ready:\n{self.output}")

    def child_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@contextmanager
def started_worker(broker_url: str, media_root: Path, *, consumes: list[str] | None = None,
                   queue: str | None = None, concurrency: int = 4, **extra_env: str):
    """A ready worker on a queue of its own, or ``queue`` (with ``extra_env`` in its
    environment, taking tasks from ``consumes``: see Worker), stopped afterwards."""
    worker = Worker(broker_url=broker_url, queue=queue or new_queue(), media_root=media_root,
                    extra_env=extra_env, consumes=consumes, concurrency=concurrency)
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


def new_queue() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def point_celery_at(broker_url: str, queue: str) -> tuple[str, str]:
    """Send this process's tasks to ``broker_url`` / ``queue``; returns the previous pair.

    Celery caches its connection and producer pools on first use; they are dropped here so
    the next task goes to the new broker (kombu keeps one pool per broker URL).
    """
    from digitrec.celery import app

    previous = (app.conf.broker_url, app.conf.task_default_queue)
    app.conf.broker_url, app.conf.task_default_queue = broker_url, queue
    app._pool = None
    app.amqp._producer_pool = None
    return previous


@contextmanager
def celery_transport(broker_url: str, queue: str | None = None):
    """This process sends predictions as Celery tasks to ``broker_url`` (on ``queue``, or a
    new one) and waits for announcements on that Redis; the previous transport and broker
    are put back afterwards. Yields the queue."""
    from recognition import transport

    queue = queue or new_queue()
    previous_broker = point_celery_at(broker_url, queue)
    previous = transport.install(transport.CeleryTransport(transport.current().work, redis_url=broker_url))
    try:
        yield queue
    finally:
        transport.install(previous)
        point_celery_at(*previous_broker)
