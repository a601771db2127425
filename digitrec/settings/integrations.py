"""Settings for API consumers: idempotency keys and webhooks. Part of digitrec.settings
(read from the environment like the rest)."""
from digitrec.env import env_bool, env_int, env_str
from digitrec.settings.predictions import CELERY_BEAT_SCHEDULE

# How long an Idempotency-Key's first answer is kept and replayed.
IDEMPOTENCY_KEY_HOURS = env_int("IDEMPOTENCY_KEY_HOURS", 24, minimum=1)

# Webhooks may call private, loopback and link-local addresses only when this is set (tests,
# a receiver on the same machine); otherwise such URLs are refused after DNS resolution.
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
WEBHOOKS_PER_USER = env_int("WEBHOOKS_PER_USER", 10, minimum=1)
# A failed delivery is retried after BACKOFF, 2x, 4x ... (at most MAX_BACKOFF apart) until
# RETRY_HOURS after the prediction finished.
WEBHOOK_BACKOFF_SECONDS = env_int("WEBHOOK_BACKOFF_SECONDS", 10, minimum=1)
WEBHOOK_MAX_BACKOFF_SECONDS = env_int("WEBHOOK_MAX_BACKOFF_SECONDS", 3600, minimum=1)
WEBHOOK_RETRY_HOURS = env_int("WEBHOOK_RETRY_HOURS", 24, minimum=1)
# A receiver must answer quickly: connect and read timeouts, and the most of its body we read.
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env_int("WEBHOOK_CONNECT_TIMEOUT_SECONDS", 3, minimum=1)
WEBHOOK_READ_TIMEOUT_SECONDS = env_int("WEBHOOK_READ_TIMEOUT_SECONDS", 5, minimum=1)
WEBHOOK_RESPONSE_MAX_BYTES = env_int("WEBHOOK_RESPONSE_MAX_BYTES", 64 * 1024, minimum=0)
# One owner's deliveries posted at once by one process, at most: receivers that never answer
# hold that many of the threads every owner's deliveries share (the Procfile's webhook worker
# has 16), and the owner's other deliveries come back a moment later.
WEBHOOK_SENDS_PER_OWNER = env_int("WEBHOOK_SENDS_PER_OWNER", 4, minimum=1)
# Due deliveries (a retry whose time came, one a restart interrupted) are sent this often.
WEBHOOK_SWEEP_SECONDS = env_int("WEBHOOK_SWEEP_SECONDS", 15, minimum=1)
# The site's address, for the absolute image and input URLs in a webhook's body; empty:
# they are paths.
SITE_URL = env_str("SITE_URL", "").rstrip("/")

CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,
    "send-due-webhook-deliveries": {
        "task": "recognition.tasks.send_due_webhook_deliveries",
        "schedule": WEBHOOK_SWEEP_SECONDS,
    },
    "delete-expired-idempotency-keys": {
        "task": "recognition.tasks.delete_expired_idempotency_keys",
        "schedule": 3600,
    },
}
