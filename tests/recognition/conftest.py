import numpy as np
import pytest

# One browser for the whole run, shared by every browser test module (Playwright's sync API
# allows one at a time).
from tests.recognition.browser import browser  # noqa: F401 - a fixture


@pytest.fixture(scope="module")
def module_worker(django_db_setup, redis_url, tmp_path_factory):
    """A real worker process on a queue of its own, started once for a module's tests:
    its start (a process, Django and the model) costs more than the tests themselves."""
    from tests.workers import started_worker

    with started_worker(redis_url, tmp_path_factory.mktemp("media")) as worker:
        yield worker


@pytest.fixture
def celery_worker(module_worker, transactional_db, redis_url, settings):
    """The module's worker; this process sends tasks to it and stores images where it reads them."""
    from tests.workers import celery_transport

    settings.MEDIA_ROOT = module_worker.media_root
    with celery_transport(redis_url, module_worker.queue):
        yield module_worker


@pytest.fixture(scope="session")
def not_sure_model_dir(tmp_path_factory):
    """The shipped model, with a not-sure threshold: its own (ml/calibration.py), or for a
    model from before calibration (which never says "not sure") a copy saying so below 0.9."""
    import json
    import shutil

    from django.conf import settings

    from ml.artifact import METADATA_FILE, newest
    from ml.calibration import Calibration

    shipped = newest(settings.ML_ARTIFACTS_DIR)
    metadata = json.loads((shipped / METADATA_FILE).read_text())
    if Calibration.from_metadata(metadata).not_sure_below > 0:
        return shipped
    copy = tmp_path_factory.mktemp("not-sure-model") / shipped.name
    shutil.copytree(shipped, copy)
    metadata["calibration"] = {"values": {"temperature": 1.0, "reject_at": 1.0, "not_sure_below": 0.9}}
    (copy / METADATA_FILE).write_text(json.dumps(metadata))
    return copy


@pytest.fixture(scope="session")
def not_sure_png(not_sure_model_dir, mnist_test):
    """(PNG, the two digits blended in it): two MNIST test digits laid over each other, which
    the model answers as one of them, below its not-sure threshold, the other second."""
    from ml.inference import NotADigit, get_engine
    from tests.images import blend, encode

    engine = get_engine(not_sure_model_dir)
    x, y = mnist_test
    first = {d: int(np.flatnonzero(y == d)[0]) for d in range(10)}
    for a, b in [(4, 9), (3, 5), (1, 7), (3, 8), (5, 6), (2, 7)]:
        for weight in (0.5, 0.55, 0.45, 0.6, 0.4):
            png = encode(blend(x[first[a]], x[first[b]], weight))
            result = engine.recognize_many([png])[0]
            if isinstance(result, (NotADigit, Exception)) or not result.not_sure:
                continue
            top = [d for d, _ in result.digits[0].alternatives[:2]]
            if set(top) == {a, b}:
                return png, top
    pytest.fail("no blend of two digits is answered below the not-sure threshold")


@pytest.fixture
def serving_not_sure_model(settings, not_sure_model_dir):
    """Predictions are answered by the model of not_sure_model_dir."""
    settings.ML_MODEL_DIR = not_sure_model_dir
    return not_sure_model_dir


@pytest.fixture(scope="session")
def doubtful_number(tmp_path_factory, mnist_test):
    """(model folder, PNG, number, index of the doubtful digit): a line of two MNIST test
    digits, and a copy of the shipped model whose rejection threshold lies between the two
    marks' calibrated not-a-digit probabilities, so that one of them is read but doubtful
    (ml/calibration.py) and the other is sure."""
    import json
    import shutil

    from django.conf import settings

    from ml.artifact import METADATA_FILE, newest
    from ml.inference import get_engine
    from ml.model import NOT_A_DIGIT_CLASS
    from tests.images import encode, line_of

    shipped = newest(settings.ML_ARTIFACTS_DIR)
    engine = get_engine(shipped)
    x, y = mnist_test
    png = encode(line_of([x[1], x[2]]))
    marks = engine.prepare([png], mode="number")[0]
    assert len(marks) == 2, "the line of two digits is not cut into two marks"
    calibrated = engine.calibration.calibrated(engine.probabilities(np.stack([m.pixels for m in marks])))
    assert (calibrated.argmax(axis=1) != NOT_A_DIGIT_CLASS).all()
    none = calibrated[:, NOT_A_DIGIT_CLASS]
    metadata = json.loads((shipped / METADATA_FILE).read_text())
    metadata["calibration"]["values"]["reject_at"] = float(np.sqrt(none.min() * none.max()))
    copy = tmp_path_factory.mktemp("doubtful-model") / shipped.name
    shutil.copytree(shipped, copy)
    (copy / METADATA_FILE).write_text(json.dumps(metadata))
    return copy, png, f"{y[1]}{y[2]}", int(none.argmax())
