"""Readiness checks behind /healthz: can this process serve a recognition right now?"""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from kombu import Connection

from ml.artifact import ArtifactError, load_metadata

logger = logging.getLogger(__name__)

# Short enough for a load balancer's probe, which typically gives up after 5 s.
BROKER_TIMEOUT = 2


def database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        logger.warning("health: database unreachable: %s", exc)
        return {"status": "error", "error": type(exc).__name__}
    return {"status": "ok"}


def broker_status() -> dict | str:
    """The string "in-process" without a broker, else whether the broker accepts a connection."""
    if not settings.CELERY_BROKER_URL:
        return "in-process"
    transport_options = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "socket_connect_timeout": BROKER_TIMEOUT,
        "socket_timeout": BROKER_TIMEOUT,
    }
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=BROKER_TIMEOUT,
            transport_options=transport_options,
        ) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT)
    except Exception as exc:  # any transport's error means "not ready"
        logger.warning("health: broker unreachable: %s", exc)
        return {"status": "error", "error": type(exc).__name__}
    return {"status": "ok"}


def model_status() -> dict:
    """The serving model (the active version, else ML_MODEL_DIR), checked against its hash."""
    from recognition.selectors import serving_model_dir

    try:
        version = load_metadata(serving_model_dir())["version"]
    except ArtifactError as exc:
        return {"status": "error", "version": None, "error": str(exc)}
    return {"status": "ok", "version": version}


def readiness() -> dict:
    """All checks, with an overall "status" of "ok" only if every one passed."""
    report = {
        "database": database_status(),
        "broker": broker_status(),
        "model": model_status(),
    }
    ready = all(check == "in-process" or check["status"] == "ok" for check in report.values())
    return {"status": "ok" if ready else "error", **report}
