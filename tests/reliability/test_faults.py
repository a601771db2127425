"""Faults with real processes: a database that cannot be reached, a broken model."""
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings

from ml.artifact import newest
from tests.workers import ROOT, Worker, new_queue


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, headers: dict | None = None, data: bytes | None = None):
    request = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


@pytest.fixture
def server_without_database(tmp_path):
    """The web app, served by granian as in `make stack`, pointed at a database port where
    nothing listens."""
    port, dead = _free_port(), _free_port()
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{dead}/digitrec",
           "DJANGO_ENV": "development", "MEDIA_ROOT": str(tmp_path)}
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "granian"), "--interface", "wsgi", "--port", str(port),
         "--workers", "1", "--blocking-threads", "2", "digitrec.wsgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=20)


def test_an_unreachable_database_is_a_503_with_a_retry_hint(server_without_database):
    status, headers, body = _get(f"{server_without_database}/api/v1/predictions/",
                                 {"Authorization": "Token 0123456789abcdef"})
    assert status == 503 and headers.get("Retry-After") == "5"
    assert '"code":"unavailable"' in body.replace(" ", "")
    status, headers, body = _get(f"{server_without_database}/accounts/login/", data=b"username=a&password=b")
    assert status in (403, 503)  # CSRF refuses the bare POST first, or the database is missed
    status, headers, body = _get(f"{server_without_database}/history/",
                                 {"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"})
    assert status == 503 and headers.get("Retry-After") == "5" and "try again" in body
    assert "Traceback" not in body
    status, _, body = _get(f"{server_without_database}/healthz")
    assert status == 503 and '"database"' in body


def test_a_worker_refuses_to_start_with_a_corrupt_model(tmp_path, redis_url):
    broken = tmp_path / "broken-model"
    shutil.copytree(newest(settings.ML_ARTIFACTS_DIR), broken)
    (broken / "model.keras").write_bytes(b"not a model")
    worker = Worker(broker_url=redis_url, queue=new_queue(), media_root=tmp_path, model_dir=broken)
    try:
        assert worker.process.wait(timeout=90) == 78
    finally:
        worker.stop()
    assert "refusing to start" in worker.output and "does not match its metadata" in worker.output


def test_a_worker_refuses_to_start_with_a_missing_model(tmp_path, redis_url):
    worker = Worker(broker_url=redis_url, queue=new_queue(), media_root=tmp_path, model_dir=tmp_path / "nothing")
    try:
        assert worker.process.wait(timeout=90) == 78
    finally:
        worker.stop()
    assert "refusing to start" in worker.output
