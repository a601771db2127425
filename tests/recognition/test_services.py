import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from recognition import runs, services
from recognition.models import Prediction

pytestmark = pytest.mark.django_db


def test_it_stores_the_image_and_a_pending_row_then_queues_it_after_commit(
        owner, digit_png, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        prediction = services.prediction_create(owner=owner, image=digit_png[0], source="draw")
    assert len(callbacks) == 1  # the enqueue waits for the commit
    prediction.refresh_from_db()
    assert prediction.status == Prediction.Status.PENDING and prediction.queued_at is not None
    assert prediction.image.name == f"predictions/{prediction.image_sha256[:2]}/{prediction.image_sha256}.png"
    assert default_storage.open(prediction.image.name).read() == digit_png[0]
    assert prediction.image_bytes == len(digit_png[0])


def test_identical_images_share_one_file(owner, other, digit_png):
    first = services.prediction_create(owner=owner, image=digit_png[0], source="draw")
    second = services.prediction_create(owner=other, image=digit_png[0], source="upload")
    assert first.image.name == second.image.name


@pytest.mark.parametrize("payload, code", [
    (b"", "not_an_image"),
    (b"GIF89a but not really", "not_an_image"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not_an_image"),
])
def test_it_refuses_a_bad_image_and_stores_nothing(owner, payload, code):
    with pytest.raises(ValidationError) as error:
        services.prediction_create(owner=owner, image=payload, source="upload")
    assert error.value.code == code
    assert not Prediction.objects.exists()


def test_it_refuses_a_file_over_the_limit(owner, settings, digit_png):
    settings.MAX_UPLOAD_BYTES = len(digit_png[0]) - 1
    with pytest.raises(services.ImageTooLarge):
        services.prediction_create(owner=owner, image=digit_png[0], source="upload")
    assert not Prediction.objects.exists()


def test_a_batch_with_one_bad_image_stores_none(owner, digit_png):
    with pytest.raises(ValidationError):
        services.predictions_create(owner=owner, images=[(digit_png[0], "a.png"), (b"junk", "b.png")],
                                    source="api")
    assert not Prediction.objects.exists()


def test_running_it_stores_the_answer_probabilities_and_what_the_model_saw(owner, digit_png):
    prediction = services.prediction_create(owner=owner, image=digit_png[0], source="draw")
    runs.predictions_run([prediction.pk])
    prediction.refresh_from_db()
    assert prediction.status == Prediction.Status.DONE
    assert prediction.answer == digit_png[1] and prediction.digit == int(digit_png[1])
    assert len(prediction.probabilities) == 10 and abs(sum(prediction.probabilities) - 1) < 1e-3
    assert prediction.confidence == pytest.approx(max(prediction.probabilities), abs=1e-5)
    assert prediction.model_input(0).shape == (28, 28)
    assert prediction.model_version and prediction.attempts == 1
    assert prediction.started_at <= prediction.finished_at


def test_it_reads_a_number(owner, number_png):
    prediction = services.prediction_create(owner=owner, image=number_png[0], source="upload", mode="number")
    runs.predictions_run([prediction.pk])
    prediction.refresh_from_db()
    assert prediction.answer == number_png[1]
    assert [d["box"][0] for d in prediction.digits] == sorted(d["box"][0] for d in prediction.digits)
    assert prediction.digit is None and prediction.probabilities is None


def test_a_blank_image_finishes_as_no_digit_found(owner, blank_png):
    prediction = services.prediction_create(owner=owner, image=blank_png, source="draw")
    runs.predictions_run([prediction.pk])
    prediction.refresh_from_db()
    assert prediction.status == Prediction.Status.FAILED
    assert prediction.error_code == Prediction.ErrorCode.NO_DIGIT
    assert "No digit found" in prediction.error and prediction.answer == ""


def test_running_twice_does_not_redo_a_finished_prediction(owner, digit_png):
    prediction = services.prediction_create(owner=owner, image=digit_png[0], source="draw")
    runs.predictions_run([prediction.pk])
    prediction.refresh_from_db()
    finished_at = prediction.finished_at
    runs.predictions_run([prediction.pk])  # a redelivered task
    prediction.refresh_from_db()
    assert prediction.finished_at == finished_at and prediction.attempts == 1


def test_one_run_finishes_a_mixed_batch_each_row_with_its_own_outcome(owner, digit_png, number_png, blank_png,
                                                                      in_process_transport):
    # In-process: the announcements stay in this process, where wait sees them.
    digit = services.prediction_create(owner=owner, image=digit_png[0], source="draw")
    number = services.prediction_create(owner=owner, image=number_png[0], source="upload", mode="number")
    blank = services.prediction_create(owner=owner, image=blank_png, source="draw")
    earlier = services.prediction_create(owner=owner, image=digit_png[0], source="api")
    runs.predictions_run([earlier.pk])
    earlier.refresh_from_db()
    runs.predictions_run([blank.pk, earlier.pk, number.pk, digit.pk])
    for prediction in (digit, number, blank):
        prediction.refresh_from_db()
    assert (digit.status, digit.answer, len(digit.probabilities)) == ("done", digit_png[1], 10)
    assert (number.status, number.answer, number.error_code) == ("done", number_png[1], "")
    assert (blank.status, blank.error_code, blank.answer, blank.digits) == ("failed", "no_digit", "", [])
    assert Prediction.objects.get(pk=earlier.pk).finished_at == earlier.finished_at  # not redone
    # Waiters are told what each row now holds; the row finished before keeps its first word.
    assert in_process_transport.wait(str(digit.pk), 1)["answer"] == digit_png[1]
    assert in_process_transport.wait(str(blank.pk), 1)["error_code"] == "no_digit"
    assert in_process_transport.wait(str(earlier.pk), 1)["finished_at"] == earlier.finished_at.isoformat()


def test_a_missing_image_file_fails_with_a_message(owner, digit_png):
    prediction = services.prediction_create(owner=owner, image=digit_png[0], source="draw")
    default_storage.delete(prediction.image.name)
    runs.predictions_run([prediction.pk])
    prediction.refresh_from_db()
    assert prediction.status == Prediction.Status.FAILED and prediction.error_code == "internal"
    assert "Traceback" not in prediction.error


def test_the_sweeper_resends_stale_pending_and_gives_up_after_the_limit(
        owner, digit_png, settings, django_capture_on_commit_callbacks, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from recognition import transport

    sent = []
    monkeypatch.setattr(transport, "send", lambda ids: sent.extend(ids))
    stale = services.prediction_create(owner=owner, image=digit_png[0], source="draw")
    fresh = services.prediction_create(owner=owner, image=digit_png[0], source="draw")
    hopeless = services.prediction_create(owner=owner, image=digit_png[0], source="draw")
    long_ago = timezone.now() - timedelta(seconds=settings.PREDICTION_STALE_SECONDS + 5)
    Prediction.objects.filter(pk__in=[stale.pk, hopeless.pk]).update(queued_at=long_ago)
    Prediction.objects.filter(pk=hopeless.pk).update(attempts=settings.PREDICTION_MAX_ATTEMPTS)

    assert runs.predictions_requeue_stale() == 1
    assert sent == [stale.pk]
    stale.refresh_from_db()
    assert stale.attempts == 2  # created and sent once, then resent
    hopeless.refresh_from_db()
    fresh.refresh_from_db()
    assert hopeless.status == Prediction.Status.FAILED and hopeless.error
    assert fresh.status == Prediction.Status.PENDING


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_skips_a_row_a_worker_is_writing_instead_of_waiting_for_it(
        owner, digit_png, settings, monkeypatch):
    # A worker's batch holds row locks until it commits; a sweeper that waited on them
    # (while holding its own) could deadlock with it. It leaves those rows to the worker.
    import threading
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone

    from recognition import transport

    sent = []
    monkeypatch.setattr(transport, "send", lambda ids: sent.extend(ids))
    busy, idle = (services.prediction_create(owner=owner, image=digit_png[0], source="draw") for _ in range(2))
    long_ago = timezone.now() - timedelta(seconds=settings.PREDICTION_STALE_SECONDS + 5)
    Prediction.objects.filter(pk__in=[busy.pk, idle.pk]).update(queued_at=long_ago)
    sent.clear()  # their first sends
    locked, release = threading.Event(), threading.Event()

    def worker_mid_write():
        try:
            with transaction.atomic():
                Prediction.objects.filter(pk=busy.pk).update(started_at=timezone.now())
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=worker_mid_write)
    thread.start()
    try:
        assert locked.wait(10)
        resent = runs.predictions_requeue_stale()
    finally:
        release.set()
        thread.join()
    assert (resent, sent) == (1, [idle.pk])


def test_feedback_is_digits_only_and_one_digit_in_digit_mode(owner, digit_png):
    prediction = services.prediction_create(owner=owner, image=digit_png[0], source="draw")
    services.prediction_give_feedback(prediction=prediction, label="4")
    prediction.refresh_from_db()
    assert prediction.feedback_label == "4" and prediction.feedback_at
    for bad in ("x", "12", "-1"):
        with pytest.raises(ValidationError):
            services.prediction_give_feedback(prediction=prediction, label=bad)
    prediction.refresh_from_db()
    assert prediction.feedback_label == "4"


def test_deleting_keeps_a_file_another_prediction_still_uses(owner, other, digit_png):
    mine = services.prediction_create(owner=owner, image=digit_png[0], source="draw")
    theirs = services.prediction_create(owner=other, image=digit_png[0], source="draw")
    services.prediction_delete(prediction=mine)
    assert default_storage.exists(theirs.image.name)
    services.prediction_delete(prediction=theirs)
    assert not default_storage.exists(theirs.image.name)
    assert not Prediction.objects.exists()


def test_a_rotated_camera_jpeg_is_accepted_and_stored_as_jpg(owner, mnist_test):
    from PIL import Image

    from tests.images import encode, place

    exif = Image.Exif()
    exif[0x0112] = 6
    photo = encode(place(mnist_test[0][0]).transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif.tobytes())
    prediction = services.prediction_create(owner=owner, image=photo, source="upload")
    assert prediction.image.name.endswith(".jpg")


def test_feedback_on_a_page_is_its_digits_line_after_line(owner, page_png, finished_prediction):
    page = finished_prediction(owner, page_png[0], mode="page")

    services.prediction_give_feedback(prediction=page, label="  ".join(page_png[1]) + "\n")

    page.refresh_from_db()
    assert page.feedback_label == "".join(page_png[1])
    with pytest.raises(ValidationError):
        services.prediction_give_feedback(prediction=page, label="12 a4")
