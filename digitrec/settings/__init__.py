"""DigitRec settings, read from the environment (see README.md, "Configuration").

With nothing set, a clean checkout runs on SQLite with in-process inference. DJANGO_ENV=
production switches to the secure defaults and requires DJANGO_SECRET_KEY.
"""
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.contrib.messages import constants as message_constants
from django.core.exceptions import ImproperlyConfigured

from digitrec.env import env_bool, env_int, env_list, env_networks, env_str

BASE_DIR = Path(__file__).resolve().parents[2]
# Files the app writes (SQLite database, uploads, collected static files); not in git.
VAR_DIR = BASE_DIR / "var"
STATIC_ROOT = VAR_DIR / "staticfiles"
# Made at start-up: SQLite needs var/, and WhiteNoise warns while STATIC_ROOT is missing.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

DJANGO_ENV = env_str("DJANGO_ENV", "development", choices=("development", "production"))
PRODUCTION = DJANGO_ENV == "production"

# Read DJANGO_DEBUG even in production, so a bad value is still reported.
DEBUG = env_bool("DJANGO_DEBUG", False) and not PRODUCTION

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_ENV=production. Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    SECRET_KEY = "django-insecure-development-only-never-use-this-key-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # intcomma: counts grouped as the language writes them
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "digitrec",  # for its management command
    "accounts",
    "recognition",
]

MIDDLEWARE = [
    "digitrec.middleware.RateLimitHeadersMiddleware",  # first: on every API answer, a 413 too
    "django.middleware.security.SecurityMiddleware",
    # Early, so the answers given before a view (413, 503) are in the person's language too;
    # it reads only the language cookie and Accept-Language, never the session.
    "django.middleware.locale.LocaleMiddleware",
    "digitrec.middleware.RequestSizeLimitMiddleware",  # before anything reads the body
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before the session and auth middleware, which are the first to touch the database.
    "digitrec.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.ProfileLanguageMiddleware",  # a signed-in user's language, kept on the profile
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires, so it sees the outcome of every login attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "digitrec.urls"
WSGI_APPLICATION = "digitrec.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {}).update({
            # A firewalled database must fail the health check, not hang it.
            "connect_timeout": 5,
            # A pool per process (psycopg_pool): a request or a Celery task borrows a
            # connection and gives it back, instead of opening one (Celery's Django fixup
            # closes the connection around every task). A connection is checked as it is
            # lent (CONN_HEALTH_CHECKS), and a borrower waits at most DB_POOL_TIMEOUT for
            # one, then gets a 503.
            "pool": {
                "min_size": env_int("DB_POOL_MIN", 1, minimum=0),
                "max_size": env_int("DB_POOL_MAX", 32, minimum=1),  # >= WEB_THREADS
                "timeout": env_int("DB_POOL_TIMEOUT", 3, minimum=1),
            },
        })
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    else:
        DATABASES["default"].update(CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=True)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # The threaded web server writes from several threads: take the write lock
            # at BEGIN and wait for it, instead of failing with "database is locked".
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out client is refused before its password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
# Per username and address: an attacker cannot lock a user out from elsewhere, and
# cannot lock out everyone behind one shared address (a proxy, an office NAT).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Keep the lock at the advertised 15 minutes even if the user keeps trying.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "digitrec.client_ip.client_ip"

# Proxies (addresses or networks) whose X-Forwarded-For is believed: behind them, the client
# IP of throttles and lockouts is the nearest untrusted address in that header. Empty: the
# connection's address, and the header is ignored (anyone can write it).
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")

MESSAGE_TAGS = {message_constants.ERROR: "danger"}  # Bootstrap's name for the alert

# English is the source; Tamil and Hindi are translated in locale/ (see README, "Languages").
# Each language is named in its own script, as a switcher shows it to those who read it.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ta", "தமிழ்"), ("hi", "हिन्दी")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["digitrec.formats"]  # ISO dates in English; Indian grouping in Tamil and Hindi
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed files need collectstatic; development and tests serve the
    # source files directly (WHITENOISE_USE_FINDERS), even with DEBUG off.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# Trained models (artifact folders, see ml/artifact.py): the shipped one and those from
# train_model. `migrate` registers them as model versions and activates the newest when
# none is active; the active version is the one that serves.
ML_ARTIFACTS_DIR = Path(env_str("ML_ARTIFACTS_DIR", str(BASE_DIR / "ml" / "artifacts")))
# An operator's override: when set, this artifact folder serves, whatever is active.
_model_dir = env_str("ML_MODEL_DIR", "")
ML_MODEL_DIR = Path(_model_dir) if _model_dir else None
# The four MNIST IDX files, fetched and verified by `manage.py fetch_mnist`.
MNIST_DIR = Path(env_str("MNIST_DIR", str(VAR_DIR / "mnist")))

# No broker means the web process runs inference itself (in-process mode).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
# With a broker, workers wake the waiting request through this Redis (the broker itself
# when it is Redis). Unused in the in-process mode.
_BROKER_REDIS = CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
REDIS_URL = env_str("REDIS_URL", "") or _BROKER_REDIS
if CELERY_BROKER_URL and not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_URL must be set when CELERY_BROKER_URL is not a Redis URL: finished predictions "
        "are announced to the waiting requests through Redis."
    )
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "") or None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Acknowledge after the task ran, so a worker killed mid-task hands it to another one.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Inference tasks are CPU-bound and alike: one at a time per process spreads them evenly.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_TIME_LIMIT = 120
# A submission must not hang on a dead broker: fail fast, keep the row pending. Redis
# re-delivers an unacknowledged task after visibility_timeout; it must exceed the time
# limit, or a slow task would run twice.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600, "socket_connect_timeout": 2, "socket_timeout": 5}
# One queue per deployment (tests use their own, so they never steal a running stack's tasks).
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "digitrec")
CELERY_TIMEZONE = TIME_ZONE

REST_FRAMEWORK = {
    # Token first: an anonymous API client gets 401 with "WWW-Authenticate: Token".
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "digitrec.pagination.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "digitrec.schema.AutoSchema",  # documents every error answer
    "EXCEPTION_HANDLER": "digitrec.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["digitrec.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        # Per signed-in user on every endpoint; per client IP on sign-up, token and password
        # reset (API and pages together), and on anonymous recognition (digitrec.throttling).
        "user": env_str("API_USER_RATE", "3000/min"),
        "auth": env_str("API_AUTH_RATE", "20/min"),
        "recognize": env_str("RECOGNIZE_RATE", "30/min"),
        "recognize_user": env_str("RECOGNIZE_USER_RATE", "120/min"),
        # Verification mails (resend, email change), per user: each one is a mail sent.
        "email_verification": env_str("EMAIL_VERIFICATION_RATE", "3/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DigitRec API",
    "DESCRIPTION": (
        "Handwritten digit recognition. Authenticate with `Authorization: Token <token>` "
        "(get one from /api/v1/auth/token/ or your profile page). Errors are "
        '`{"error": {"code", "message", "fields"}}`; `message` and `fields` follow `Accept-Language` '
        "(`en`, `ta` Tamil, `hi` Hindi), `code` stays the same in every language."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs page are public, like any published API reference.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI's files come from the drf-spectacular-sidecar package: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Predictions keep the name StatusEnum; a webhook delivery's status has its own.
    "ENUM_NAME_OVERRIDES": {"StatusEnum": "recognition.models.Prediction.Status",
                            "DeliveryStatusEnum": "recognition.models.WebhookDelivery.Status"},
}

DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "DigitRec <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
CONTACT_EMAIL = env_str("CONTACT_EMAIL", "support@localhost")
EMAIL_HOST = env_str("EMAIL_HOST", "")
# smtp (EMAIL_HOST), console (the web process's output) or file (var/mail/). Production never
# falls back to the console, where anyone reading the log could use a reset link: it needs
# EMAIL_HOST or an explicit choice, and its console shows no mail bodies.
_email_backend = env_str("EMAIL_BACKEND", "", choices=("", "smtp", "console", "file"))
if not _email_backend and PRODUCTION and not EMAIL_HOST:
    raise ImproperlyConfigured(
        "Password-reset mails need a way out when DJANGO_ENV=production: set EMAIL_HOST (SMTP), "
        "or EMAIL_BACKEND=file (mails saved in var/mail/) or EMAIL_BACKEND=console (bodies "
        "not shown)."
    )
_email_backend = _email_backend or ("smtp" if EMAIL_HOST else "console")
EMAIL_BACKEND = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "digitrec.mail.EnvelopeConsoleBackend" if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
}[_email_backend]
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10  # seconds; a stuck mail server must not hang a password reset
# How long an email-verification link works, as Django's PASSWORD_RESET_TIMEOUT (3 days).
EMAIL_VERIFICATION_MAX_AGE = 3 * 24 * 3600

# Secure cookies, HSTS (with preload) and the HTTPS redirect default on in production, so
# `check --deploy` is clean. `make stack` turns the redirect off (DJANGO_SECURE_SSL_REDIRECT=0)
# to be usable on plain http://127.0.0.1.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", PRODUCTION)
# Front-end code reads the CSRF token from the page, never from the cookie.
CSRF_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int(
    "DJANGO_SECURE_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", PRODUCTION)
# Behind a TLS proxy set DJANGO_TRUST_X_FORWARDED_PROTO=1, or every request looks like
# plain HTTP and is redirected.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
# Scripts only from this site's files, never inline (the API docs page too: drf-spectacular's
# split view serves its start-up script as a file), so markup slipped into a page cannot run.
# Inline styles stay allowed: style attributes draw the probability bars.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:"],  # Bootstrap's icons; upload previews
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
if env_bool("DJANGO_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": env_str(
            "DJANGO_LOG_LEVEL", "INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR")
        ),
    },
    # Replace Django's own handlers, which print only with DEBUG and mail ADMINS.
    "loggers": {
        "django": {"handlers": [], "propagate": True},
        "axes.apps": {"level": "WARNING"},  # its start-up banner, printed by every command
        # Celery's two INFO lines per task ("received", "succeeded") cost the worker more
        # CPU than the database writes of a prediction; failures are still logged.
        "celery.worker.strategy": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
    },
}

# Throttle counters live in a cache that every web process shares, so a limit holds across
# processes and machines: Redis (CACHE_URL, by default the broker's Redis), else this
# process's memory, which is enough for the embedded mode's one process. Login lockouts are
# django-axes' rows in the database, shared either way.
CACHE_URL = env_str("CACHE_URL", "") or _BROKER_REDIS
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "digitrec.cache.FailOpenRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "digitrec",
            # A request must not hang on a dead Redis (redis-py's pool options).
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "digitrec.cache.LocalCache"}}

from digitrec.settings.predictions import *  # noqa: E402,F403 - limits, batching, inference
from digitrec.settings.integrations import *  # noqa: E402,F403 - idempotency keys, webhooks
