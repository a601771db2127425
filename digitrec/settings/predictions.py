"""Settings of predictions: upload and request limits, how predictions are sent, batched,
retried and waited for, and the inference threads. Part of digitrec.settings (read from the
environment like the rest)."""
from digitrec.env import env_int

# Largest image accepted, in bytes (a form error on pages, 413 on the API).
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024, minimum=1024)
# Base64 in JSON is 4/3 of the file; leave room for it in request bodies.
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES * 4 // 3 + 64 * 1024
# Largest request body of any kind (a multipart batch: its files together), refused with 413
# from its Content-Length before it is read. 5 files at the 10 MB limit, or 100 of 0.5 MB:
# a full batch of 100 x MAX_UPLOAD_BYTES (1 GB) in one request is not worth holding.
MAX_REQUEST_BYTES = env_int("MAX_REQUEST_BYTES", 5 * MAX_UPLOAD_BYTES,
                            minimum=DATA_UPLOAD_MAX_MEMORY_SIZE)
# The first handler counts a multipart body's file bytes against MAX_REQUEST_BYTES as they
# stream in; Django's own then keep small files in memory and spool others to disk.
FILE_UPLOAD_HANDLERS = [
    "digitrec.uploads.TotalSizeUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# A pending prediction older than this is sent again by the sweeper (Celery beat, or a
# thread in the embedded mode); after this many runs it is marked failed.
PREDICTION_STALE_SECONDS = env_int("PREDICTION_STALE_SECONDS", 30, minimum=1)
PREDICTION_MAX_ATTEMPTS = env_int("PREDICTION_MAX_ATTEMPTS", 5, minimum=1)
# Predictions per Celery task: a batch goes through the model in one call.
PREDICTION_TASK_BATCH = env_int("PREDICTION_TASK_BATCH", 16, minimum=1)
# Predictions that a process's threads run at the same moment (a worker's task threads)
# are run together: one database read, transaction and notification for up to this many,
# by this many threads per process (two, so that one batch's database and Redis round
# trips can overlap another's preprocessing).
PREDICTION_RUN_BATCH = env_int("PREDICTION_RUN_BATCH", 32, minimum=1)
PREDICTION_RUN_THREADS = env_int("PREDICTION_RUN_THREADS", 2, minimum=1)
# How long a process may serve a model version before asking the database again which
# one is active (an activation reaches every worker within this many seconds).
SERVING_MODEL_CHECK_SECONDS = env_int("SERVING_MODEL_CHECK_SECONDS", 1, minimum=0)
# TensorFlow threads per inference process (Celery worker process or the web process).
INFERENCE_TF_THREADS = env_int("INFERENCE_TF_THREADS", 1, minimum=1)
# Embedded mode (no broker): threads that run inference inside the web process (as many
# again run previews).
INPROCESS_INFERENCE_THREADS = env_int("INPROCESS_INFERENCE_THREADS", 2, minimum=1)
# Full image decodes at once per process (each within ml.decoding.MAX_DECODE_BYTES).
MAX_CONCURRENT_DECODES = env_int("MAX_CONCURRENT_DECODES", 2, minimum=1)
# `?wait=` requests that may wait at once in one web process: one user's, and everyone's
# (keep it well below the server's threads: `make run` has 16, the Procfile passes half of
# WEB_THREADS). Both are counted in the process (recognition/waiting.py). Past either, the
# answer is 202 pending at once.
MAX_WAITING_PER_USER = env_int("MAX_WAITING_PER_USER", 4, minimum=0)
MAX_WAITING_PER_PROCESS = env_int("MAX_WAITING_PER_PROCESS", 8, minimum=0)
# How long a preview (POST /api/v1/recognize/) waits for its answer before a 503 "busy".
PREVIEW_TIMEOUT_SECONDS = env_int("PREVIEW_TIMEOUT_SECONDS", 3, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-predictions": {
        "task": "recognition.tasks.requeue_stale_predictions",
        "schedule": max(5, PREDICTION_STALE_SECONDS // 2),
    },
}
