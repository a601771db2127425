import json
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from digitrec.env import env_bool, env_int, env_list, env_str

# Variables the settings read: cleared so the host's environment cannot leak into a run.
SETTINGS_VARIABLES = ("DJANGO_", "DATABASE_URL", "CELERY_", "REDIS_URL", "EMAIL_", "ML_MODEL_DIR", "MEDIA_ROOT",
                      "CACHE_URL", "TRUSTED_PROXIES")
# Production as a deployment sets it up: a secret key and a mail server.
PRODUCTION = {"DJANGO_ENV": "production", "DJANGO_SECRET_KEY": "x" * 50, "EMAIL_HOST": "smtp.example.com"}


def _settings_under(env: dict, *names: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with `env`, printing `names` as JSON (the
    settings only: loading the apps would cost seconds and check nothing more)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_VARIABLES)}
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "digitrec.settings", **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _values(env: dict, *names: str) -> dict:
    result = _settings_under(env, *names)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("value", ["1", "true", "Yes", "ON"])
def test_it_reads_true_booleans(monkeypatch, value):
    monkeypatch.setenv("FLAG", value)

    assert env_bool("FLAG", False) is True


@pytest.mark.parametrize("value", ["0", "false", "No", "OFF"])
def test_it_reads_false_booleans(monkeypatch, value):
    monkeypatch.setenv("FLAG", value)

    assert env_bool("FLAG", True) is False


def test_it_names_the_variable_holding_an_invalid_boolean(monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "maybe")

    with pytest.raises(ImproperlyConfigured, match=r"DJANGO_DEBUG='maybe' is not a boolean"):
        env_bool("DJANGO_DEBUG", False)


def test_it_names_the_variable_holding_an_invalid_integer(monkeypatch):
    monkeypatch.setenv("EMAIL_PORT", "smtp")

    with pytest.raises(ImproperlyConfigured, match=r"EMAIL_PORT='smtp' is not an integer"):
        env_int("EMAIL_PORT", 587)


def test_it_names_the_variable_holding_a_too_small_integer(monkeypatch):
    monkeypatch.setenv("EMAIL_PORT", "0")

    with pytest.raises(ImproperlyConfigured, match=r"EMAIL_PORT=0 is too small"):
        env_int("EMAIL_PORT", 587, minimum=1)


def test_it_names_a_missing_required_variable(monkeypatch):
    monkeypatch.delenv("SOME_REQUIRED", raising=False)

    with pytest.raises(ImproperlyConfigured, match="SOME_REQUIRED must be set"):
        env_str("SOME_REQUIRED")


def test_it_names_the_variable_holding_a_value_outside_the_choices(monkeypatch):
    monkeypatch.setenv("DJANGO_ENV", "prod")

    with pytest.raises(ImproperlyConfigured, match=r"DJANGO_ENV='prod' is not valid"):
        env_str("DJANGO_ENV", "development", choices=("development", "production"))


def test_it_splits_lists_on_commas(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", " digitrec.example, ,www.digitrec.example ")

    assert env_list("DJANGO_ALLOWED_HOSTS") == ["digitrec.example", "www.digitrec.example"]


def test_it_treats_an_empty_variable_as_unset(monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "")
    monkeypatch.setenv("WEB_PORT", "  ")

    assert env_bool("DJANGO_DEBUG", True) is True
    assert env_int("WEB_PORT", 8000) == 8000


def test_it_refuses_to_start_in_production_without_a_secret_key():
    result = _settings_under({"DJANGO_ENV": "production"}, "DEBUG")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_ENV=production" in result.stderr


def test_it_refuses_to_start_with_an_invalid_debug_value():
    result = _settings_under({"DJANGO_DEBUG": "maybe"}, "DEBUG")

    assert result.returncode != 0
    assert "DJANGO_DEBUG='maybe' is not a boolean" in result.stderr


def test_it_forces_debug_off_and_secures_cookies_in_production():
    values = _values(
        {**PRODUCTION, "DJANGO_DEBUG": "1"},
        "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS",
        "SECURE_SSL_REDIRECT", "STORAGES",
    )

    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["STORAGES"]["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )


def test_the_deployment_check_is_clean_under_production_settings():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_VARIABLES)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={**clean, **PRODUCTION, "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)},
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_it_runs_without_configuration_on_sqlite_and_in_process():
    values = _values({}, "DEBUG", "DATABASES", "CELERY_BROKER_URL", "ML_MODEL_DIR", "MEDIA_ROOT")

    assert values["DEBUG"] is False
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["DATABASES"]["default"]["NAME"] == str(settings.BASE_DIR / "var" / "db.sqlite3")
    assert values["CELERY_BROKER_URL"] == ""
    assert values["ML_MODEL_DIR"] is None  # the active model version serves
    assert values["MEDIA_ROOT"] == str(settings.BASE_DIR / "var" / "media")


def test_notifications_use_the_redis_broker_unless_redis_url_says_otherwise():
    broker = "redis://broker.internal:6379/0"
    assert _values({"CELERY_BROKER_URL": broker}, "REDIS_URL")["REDIS_URL"] == broker
    other = "redis://cache.internal:6379/3"
    assert _values({"CELERY_BROKER_URL": broker, "REDIS_URL": other}, "REDIS_URL")["REDIS_URL"] == other


def test_it_refuses_a_non_redis_broker_without_redis_url():
    result = _settings_under({"CELERY_BROKER_URL": "amqp://guest@127.0.0.1//"}, "REDIS_URL")
    assert result.returncode != 0
    assert "REDIS_URL must be set when CELERY_BROKER_URL is not a Redis URL" in result.stderr


def test_it_uses_postgresql_from_database_url():
    values = _values({"DATABASE_URL": "postgres://app:pw@db.internal:5433/digitrec"}, "DATABASES")

    database = values["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["HOST"] == "db.internal"
    assert database["PORT"] == 5433
    assert database["NAME"] == "digitrec"
    # A connection pool per process, each connection checked as it is lent.
    assert database["CONN_MAX_AGE"] == 0
    assert database["CONN_HEALTH_CHECKS"] is True
    assert database["OPTIONS"]["pool"]["max_size"] >= 32  # one per web thread


def test_it_sends_mail_over_smtp_once_a_host_is_set():
    values = _values(
        {"EMAIL_HOST": "smtp.example.com", "EMAIL_PORT": "465", "EMAIL_USE_TLS": "0"},
        "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS",
    )

    assert values == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 465,
        "EMAIL_USE_TLS": False,
    }


def test_it_names_the_variable_holding_a_bad_trusted_proxy():
    result = _settings_under({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}, "TRUSTED_PROXIES")

    assert result.returncode != 0
    assert "TRUSTED_PROXIES: 'proxy.local' is not an IP address or network" in result.stderr


def test_it_refuses_to_start_in_production_with_no_way_to_send_mail():
    result = _settings_under({**PRODUCTION, "EMAIL_HOST": ""}, "EMAIL_BACKEND")

    assert result.returncode != 0
    assert "Password-reset mails need a way out when DJANGO_ENV=production" in result.stderr


@pytest.mark.parametrize("choice, backend", [
    ("file", "django.core.mail.backends.filebased.EmailBackend"),
    ("console", "digitrec.mail.EnvelopeConsoleBackend"),
])
def test_it_starts_in_production_with_a_mail_backend_chosen_explicitly(choice, backend):
    values = _values({**PRODUCTION, "EMAIL_HOST": "", "EMAIL_BACKEND": choice}, "EMAIL_BACKEND")

    assert values == {"EMAIL_BACKEND": backend}


def test_it_prints_mails_on_the_console_outside_production():
    values = _values({}, "EMAIL_BACKEND")

    assert values == {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
