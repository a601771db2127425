"""A label (the right answer) is ASCII digits 0-9 wherever it comes in: the feedback page,
the API, the admin; retraining skips a bad one stored before, and a migration clears them."""
import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recognition import retraining, services
from recognition.admin import ReviewForm, ReviewLabelForm
from recognition.models import Prediction
from recognition.validators import validate_label

pytestmark = pytest.mark.django_db

# Superscript two, Arabic-Indic three, circled one, mathematical bold seven: str.isdigit
# accepts them all; int() refuses the first and third and reads the others as 3 and 7.
NOT_ASCII = ["²", "٣", "①", "𝟟"]


@pytest.mark.django_db(False)
@pytest.mark.parametrize("label", ["0", "7", "123", "9" * 64])
def test_the_validator_accepts_ascii_digits(label):
    validate_label(label)


@pytest.mark.django_db(False)
@pytest.mark.parametrize("label", [*NOT_ASCII, "1²", "", " 1", "1\n", "a", "1.5", "-1", "9" * 65, None])
def test_the_validator_refuses_anything_else(label):
    with pytest.raises(ValidationError) as caught:
        validate_label(label)
    assert caught.value.code == "invalid_label"


@pytest.mark.parametrize("label", NOT_ASCII)
def test_the_feedback_page_refuses_a_non_ascii_digit(client, owner, digit_png, label, finished_prediction):
    prediction = finished_prediction(owner, digit_png[0])
    client.force_login(owner)
    response = client.post(reverse("recognition:feedback", args=[prediction.pk]), {"label": label})
    assert response.status_code == 200
    assert "digits only (0-9)" in response.content.decode()
    prediction.refresh_from_db()
    assert prediction.feedback_label == ""


@pytest.mark.parametrize("label", NOT_ASCII)
def test_the_api_refuses_a_non_ascii_digit(owner, digit_png, label):
    prediction = services.prediction_create(owner=owner, image=digit_png[0], source="api")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=owner).key}")
    response = client.post(f"/api/v1/predictions/{prediction.pk}/feedback/", {"label": label}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"label": ["The label must be digits only (0-9)."]}
    prediction.refresh_from_db()
    assert prediction.feedback_label == ""


@pytest.mark.parametrize("label", NOT_ASCII)
def test_the_services_refuse_a_non_ascii_digit(owner, staff, digit_png, label, finished_prediction):
    prediction = finished_prediction(owner, digit_png[0])
    with pytest.raises(ValidationError):
        services.prediction_give_feedback(prediction=prediction, label=label)
    with pytest.raises(ValidationError):
        services.prediction_review(prediction=prediction, label=label, reviewer=staff)
    prediction.refresh_from_db()
    assert prediction.feedback_label == prediction.reviewed_label == ""


@pytest.mark.parametrize("label", NOT_ASCII)
def test_the_admin_forms_refuse_a_non_ascii_digit(owner, digit_png, label, finished_prediction):
    prediction = finished_prediction(owner, digit_png[0])
    assert not ReviewLabelForm({"label": label}).is_valid()
    form = ReviewForm({"reviewed_label": label}, instance=prediction)
    assert not form.is_valid() and "reviewed_label" in form.errors


def test_retraining_skips_a_bad_stored_label_instead_of_crashing(owner, digit_png, finished_prediction):
    good, *bad = [finished_prediction(owner, digit_png[0]) for _ in range(1 + len(NOT_ASCII))]
    Prediction.objects.filter(pk=good.pk).update(reviewed_label=digit_png[1])
    for prediction, label in zip(bad, NOT_ASCII):  # stored before labels were checked
        Prediction.objects.filter(pk=prediction.pk).update(reviewed_label=label)

    images = retraining.reviewed_images()

    assert images.invalid == len(NOT_ASCII)
    assert images.train_ids | images.heldout_ids == {good.pk}
    assert [int(v) for v in [*images.y_train, *images.y_heldout]] == [int(digit_png[1])]


def test_the_migration_clears_labels_that_are_not_ascii_digits(owner, staff, digit_png, finished_prediction):
    migration = importlib.import_module("recognition.migrations.0003_labels_ascii_digits")
    good = finished_prediction(owner, digit_png[0])
    services.prediction_give_feedback(prediction=good, label="7")
    services.prediction_review(prediction=good, label="7", reviewer=staff)
    bad = [services.prediction_create(owner=owner, image=digit_png[0], source="draw") for _ in NOT_ASCII]
    for prediction, label in zip(bad, NOT_ASCII):
        Prediction.objects.filter(pk=prediction.pk).update(
            feedback_label=label, feedback_at=good.feedback_at,
            reviewed_label=label, reviewed_at=good.reviewed_at, reviewed_by=staff)

    migration.clear_invalid_labels(apps, None)

    for prediction in bad:
        prediction.refresh_from_db()
        assert (prediction.feedback_label, prediction.feedback_at) == ("", None)
        assert (prediction.reviewed_label, prediction.reviewed_at, prediction.reviewed_by) == ("", None, None)
    good.refresh_from_db()
    assert (good.feedback_label, good.reviewed_label, good.reviewed_by) == ("7", "7", staff)
