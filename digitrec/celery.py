"""The Celery app; its configuration is the CELERY_* Django settings."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digitrec.settings")

app = Celery("digitrec")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
