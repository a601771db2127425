"""Readiness checks behind /healthz: can this process serve a recognition right now?"""
from __future__ import annotations

import logging

from django.db import DatabaseError, connection

from ml.artifact import ArtifactError, load_metadata

logger = logging.getLogger(__name__)


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
    from recognition import transport

    return transport.broker_status()


def model_status() -> dict:
    """The serving model (see ``selectors.serving_model_dir``), checked against its hash."""
    from recognition.selectors import serving_model_dir

    try:
        version = load_metadata(serving_model_dir())["version"]
    except (ArtifactError, DatabaseError) as exc:
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
