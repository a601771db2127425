import hashlib
import json
import socket

import pytest
from django.db import OperationalError
from django.urls import reverse

from digitrec import health
from tests.workers import celery_transport

pytestmark = pytest.mark.django_db

URL = reverse("healthz")
MODEL_BYTES = b"stands in for model.keras: load_metadata only hashes it"


@pytest.fixture
def model_dir(tmp_path, settings):
    """A model artifact whose metadata matches its model file, as ML_MODEL_DIR."""
    (tmp_path / "model.keras").write_bytes(MODEL_BYTES)
    metadata = {"version": "test-2026.1", "model_sha256": hashlib.sha256(MODEL_BYTES).hexdigest()}
    (tmp_path / "metadata.json").write_text(json.dumps(metadata))
    settings.ML_MODEL_DIR = tmp_path
    return tmp_path


@pytest.fixture
def silent_broker():
    """The URL of a port that accepts connections but never answers, like a hung server."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"


def test_it_is_ok_with_database_model_and_in_process_inference(client, model_dir, in_process_transport):
    response = client.get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"status": "ok"},
        "broker": "in-process",
        "model": {"status": "ok", "version": "test-2026.1"},
    }
    assert "no-cache" in response["Cache-Control"]


def test_it_checks_a_configured_broker(client, model_dir, celery_transport):
    response = client.get(URL)

    assert response.status_code == 200
    assert response.json()["broker"] == {"status": "ok"}


def test_it_is_unavailable_when_the_broker_refuses_connections(client, model_dir):
    with celery_transport("redis://127.0.0.1:1/0"):
        response = client.get(URL)

    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert response.json()["broker"]["status"] == "error"
    assert response.json()["model"]["status"] == "ok"


def test_it_gives_up_on_a_broker_that_never_answers(client, model_dir, silent_broker):
    with celery_transport(silent_broker):
        response = client.get(URL)

    assert response.status_code == 503
    assert response.json()["broker"]["status"] == "error"


def test_it_is_unavailable_without_a_model(client, tmp_path, settings):
    settings.ML_MODEL_DIR = tmp_path / "missing"

    response = client.get(URL)

    assert response.status_code == 503
    model = response.json()["model"]
    assert model["status"] == "error"
    assert model["version"] is None
    assert "no metadata.json" in model["error"]


def test_it_is_unavailable_when_the_model_file_does_not_match_its_metadata(client, model_dir):
    (model_dir / "model.keras").write_bytes(MODEL_BYTES + b"truncated or replaced")

    response = client.get(URL)

    assert response.status_code == 503
    assert "does not match its metadata" in response.json()["model"]["error"]


def test_it_is_unavailable_when_the_metadata_is_corrupt(client, model_dir):
    (model_dir / "metadata.json").write_text("{not json")

    response = client.get(URL)

    assert response.status_code == 503
    assert "is not valid JSON" in response.json()["model"]["error"]


def test_it_is_unavailable_when_the_database_fails(client, model_dir, monkeypatch):
    class UnreachableDatabase:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", UnreachableDatabase())

    response = client.get(URL)

    assert response.status_code == 503
    assert response.json()["database"] == {"status": "error", "error": "OperationalError"}


def test_it_answers_only_get(client, model_dir):
    assert client.post(URL).status_code == 405
