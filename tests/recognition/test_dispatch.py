"""The embedded mode (no broker): predictions run in the web process."""
import time

import pytest

from ml import inference
from recognition import dispatch, services
from recognition.models import Prediction
from recognition.selectors import serving_model_dir


@pytest.mark.django_db(transaction=True)
def test_when_the_server_starts_it_loads_the_model_and_finishes_what_the_last_run_left(
        owner, digit_png, settings, monkeypatch):
    settings.CELERY_BROKER_URL = ""
    settings.PREDICTION_STALE_SECONDS = 1
    with monkeypatch.context() as stopped:  # the last run stopped before running it
        stopped.setattr(dispatch, "enqueue", lambda ids: None)
        left = services.prediction_create(owner=owner, image=digit_png[0], source="draw")
    monkeypatch.setattr(inference, "_engines", {})  # a new process: no model loaded yet
    try:
        dispatch.warm_up().result(timeout=120)
        assert [engine.model_dir for engine in inference._engines.values()] == [serving_model_dir().resolve()]
        deadline = time.monotonic() + 60
        while Prediction.objects.get(pk=left.pk).status == Prediction.Status.PENDING:
            assert time.monotonic() < deadline, "the sweeper never ran it"
            time.sleep(0.1)
    finally:
        dispatch.shutdown()
    left.refresh_from_db()
    assert (left.status, left.answer) == (Prediction.Status.DONE, digit_png[1])


def test_with_a_broker_the_web_process_loads_no_model(settings, monkeypatch):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    monkeypatch.setattr(inference, "_engines", {})
    assert dispatch.warm_up() is None
    assert inference._engines == {}  # the workers hold it
