"""Trustworthy answers through the product (issue 15): alternatives, "not sure", the
not_a_digit error code, the mode hint, the review queue's order and the reliability diagrams."""
import json
import shutil

import numpy as np
import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ml.artifact import METADATA_FILE, newest
from ml.calibration import Calibration, plot_reliability
from ml.inference import NUMBER_HINT_ASPECT, NotADigit, answer, get_engine
from ml.ink import NoDigitFound
from ml.preprocessing import Digit, to_model_input
from recognition import model_versions, runs, selectors, services
from recognition.models import ModelVersion, Prediction
from tests.images import drawn_canvas, encode, line_of, place

pytestmark = pytest.mark.django_db

LIST = "/api/v1/predictions/"
DASHBOARD = reverse("staff-dashboard")
# A zig-zag scribble and a star as the draw page sends them: no digit.
SCRIBBLE = [[(40, 140), (80, 60), (110, 200), (150, 50), (180, 210), (215, 70), (245, 190)],
            [(60, 100), (230, 170), (70, 220), (200, 40)]]


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def _get(user, prediction) -> dict:
    return _client(user).get(f"{LIST}{prediction.pk}/").json()


def _eleven_classes() -> bool:
    return get_engine(selectors.serving_model_dir()).classes == 11


# --- API: alternatives, not sure ---------------------------------------------------------

def test_each_digit_has_its_top_three_alternatives(owner, number_png, finished_prediction):
    body = _get(owner, finished_prediction(owner, number_png[0], mode="number"))

    assert body["number"] == number_png[1]
    for digit in body["digits"]:
        alternatives = digit["alternatives"]
        assert len(alternatives) == 3 and alternatives[0]["digit"] == digit["digit"]
        chances = [a["probability"] for a in alternatives]
        assert chances == sorted(chances, reverse=True)
        assert chances == [digit["probabilities"][a["digit"]] for a in alternatives]
        assert len({a["digit"] for a in alternatives}) == 3
        assert digit["doubtful"] is False
    assert body["not_sure"] is False and body["left_out"] == [] and body["hint"] is None


def test_a_mark_of_a_number_that_may_be_no_digit_is_flagged_doubtful(owner, owner_client, number_png,
                                                                   finished_prediction):
    prediction = finished_prediction(owner, number_png[0], mode="number")
    # A 4 read surely, then a mark read as 2 whose not-a-digit score (0.3) reaches reject_at.
    scores = np.full((2, 11), 0.01 / 9)
    scores[0, 4], scores[0, 10] = 0.99, 0.0
    scores[1, :] = 0.05 / 9
    scores[1, 2], scores[1, 10] = 0.65, 0.3
    marks = [Digit(pixels=np.zeros((28, 28), np.uint8), box=(40 * i, 0, 30, 40)) for i in range(2)]
    result = answer(marks, scores, mode="number", calibration=Calibration(reject_at=0.25), model_version="v")
    Prediction.objects.filter(pk=prediction.pk).update(**runs._outcome_fields(result, "v", started_at=None))

    body = _get(owner, prediction)

    assert body["number"] == "42" and body["not_sure"] is True
    assert [d["doubtful"] for d in body["digits"]] == [False, True]
    # The history page marks that digit's box and card, and only that one.
    page = owner_client.get(reverse("recognition:detail", args=[prediction.pk])).content.decode()
    assert page.count('data-testid="digit-doubtful"') == 1 and page.count(" doubtful\"") == 1
    assert '<span class="digit-box-label">2?</span>' in page


def test_an_answer_stored_before_alternatives_gets_them_from_its_probabilities(owner, digit_png,
                                                                                finished_prediction):
    prediction = finished_prediction(owner, digit_png[0])
    stored = prediction.digits[0]
    del stored["alternatives"]
    Prediction.objects.filter(pk=prediction.pk).update(digits=[stored])

    alternatives = _get(owner, prediction)["digits"][0]["alternatives"]

    ranked = sorted(range(10), key=lambda d: -stored["probabilities"][d])[:3]
    assert [a["digit"] for a in alternatives] == ranked


def test_an_ambiguous_drawing_is_answered_not_sure_with_both_digits_first(
        owner, not_sure_png, serving_not_sure_model, finished_prediction):
    png, blended = not_sure_png
    prediction = finished_prediction(owner, png)

    body = _get(owner, prediction)

    threshold = get_engine(serving_not_sure_model).calibration.not_sure_below
    assert body["status"] == "done" and body["not_sure"] is True and body["confidence"] < threshold
    assert [a["digit"] for a in body["digits"][0]["alternatives"][:2]] == blended
    assert body["digit"] == blended[0] and Prediction.objects.get(pk=prediction.pk).not_sure


def test_a_clear_digit_is_not_not_sure(owner, digit_png, serving_not_sure_model, finished_prediction):
    body = _get(owner, finished_prediction(owner, digit_png[0]))
    assert body["digit"] == int(digit_png[1]) and body["not_sure"] is False


# --- not_a_digit ------------------------------------------------------------------------------

def test_a_scribble_is_not_a_digit_and_a_blank_image_no_digit(owner, blank_png, finished_prediction):
    assert _eleven_classes(), "the serving model has no not-a-digit class (a ten-class artifact)"
    scribble = finished_prediction(owner, encode(drawn_canvas(SCRIBBLE, width=10)))
    blank = finished_prediction(owner, blank_png)

    body = _get(owner, scribble)
    assert body["status"] == "failed" and body["error_code"] == "not_a_digit"
    assert body["error"] == "No digit found: this looks like a drawing or a mark, not a digit."
    assert body["digit"] is None and body["digits"] == [] and body["not_sure"] is False
    assert _get(owner, blank)["error_code"] == "no_digit"


def test_a_not_a_digit_answer_becomes_a_failed_prediction_with_its_own_code():
    refusal = NotADigit(0.97, [(4, 0.02), (1, 0.005), (7, 0.002)])
    refusal.number_hint = "123"

    fields = runs._outcome_fields(refusal, "v1", started_at=None)

    assert fields["status"] == Prediction.Status.FAILED and fields["error_code"] == "not_a_digit"
    assert fields["error"] == runs.NOT_A_DIGIT_MESSAGE and fields["number_hint"] == "123"
    assert runs._outcome_fields(NoDigitFound("blank"), "v1", None)["error_code"] == "no_digit"


def test_the_schema_documents_the_new_fields_and_codes(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    prediction = components["Prediction"]["properties"]
    assert {"not_sure", "hint", "left_out"} <= set(prediction)
    assert {"alternatives", "doubtful"} <= set(components["Digit"]["properties"])
    assert set(components["Alternative"]["properties"]) == {"digit", "probability"}
    code = components["Hint"]["properties"]["code"]
    assert code.get("$ref", code.get("allOf", [{}])[0].get("$ref", "")).endswith("/CodeEnum")
    assert components["CodeEnum"]["enum"] == ["looks_like_a_number"]
    assert "not_a_digit" in components["ErrorCodeEnum"]["enum"] and "no_digit" in components["ErrorCodeEnum"]["enum"]


# --- The mode hint ----------------------------------------------------------------------------

def test_several_digits_in_single_digit_mode_offer_the_number_reading(owner, mnist_test, finished_prediction):
    x, y = mnist_test
    picks = [1, 2, 3, 4, 5]
    number = "".join(str(y[i]) for i in picks)
    png = encode(line_of([x[i] for i in picks]))

    body = _get(owner, finished_prediction(owner, png, mode="digit"))

    assert body["mode"] == "digit"
    assert body["hint"] == {"code": "looks_like_a_number", "number": number,
                            "message": f"This looks like a number: {number}"}
    # Whatever single digit (or none) it was read as, the number reading is what number mode gives.
    again = _get(owner, finished_prediction(owner, png, mode="number"))
    assert again["number"] == number and again["hint"] is None


def test_one_digit_in_single_digit_mode_has_no_hint(owner, digit_png, mnist_test, finished_prediction):
    x, _ = mnist_test
    assert _get(owner, finished_prediction(owner, digit_png[0]))["hint"] is None
    # A single 0 stretched wide is segmented as a number too, and found to be one digit: no hint.
    wide_zero = encode(place(x[3]).resize((560, 280)))
    _, _, width, height = to_model_input(wide_zero).box
    assert width >= NUMBER_HINT_ASPECT * height
    body = _get(owner, finished_prediction(owner, wide_zero))
    assert body["digit"] == 0 and body["hint"] is None


# --- Staff: the review queue and the diagrams ---------------------------------------------

@pytest.fixture
def queue(owner, digit_png, not_sure_png, serving_not_sure_model, finished_prediction):
    """A sure answer; a not-sure one; and a less confident one from a model with no
    threshold (so not flagged), all unreviewed."""
    sure = finished_prediction(owner, digit_png[0])
    not_sure = finished_prediction(owner, not_sure_png[0])
    unflagged = finished_prediction(owner, digit_png[0])
    Prediction.objects.filter(pk=unflagged.pk).update(confidence=not_sure.confidence / 2, not_sure=False)
    assert not_sure.not_sure and not sure.not_sure
    return {"sure": sure, "not_sure": not_sure, "unflagged": unflagged}


def test_the_review_queue_puts_not_sure_answers_first(staff_client, queue):
    response = staff_client.get(DASHBOARD)

    listed = [p.pk for p in response.context["queue"]["least_confident"]]
    assert listed == [queue["not_sure"].pk, queue["unflagged"].pk, queue["sure"].pk]
    html = response.content.decode()
    assert html.count('data-testid="queue-not-sure"') == 1
    assert html.index(str(queue["not_sure"].pk)) < html.index(str(queue["unflagged"].pk))


def test_the_admin_lists_not_sure_answers_first_and_filters_them(staff_client, queue):
    changelist = reverse("admin:recognition_prediction_changelist")

    listed = list(staff_client.get(changelist).context["cl"].result_list)
    filtered = list(staff_client.get(changelist, {"not_sure": "yes"}).context["cl"].result_list)

    assert listed[0].pk == queue["not_sure"].pk
    assert [p.pk for p in filtered] == [queue["not_sure"].pk]


@pytest.fixture
def reliable_model(settings, tmp_path):
    """The serving artifact with its reliability diagram: the shipped one if it has one, else a
    copy with one drawn by ml.calibration, registered and activated."""
    shipped = newest(settings.ML_ARTIFACTS_DIR)
    if (shipped / "reliability.png").is_file():
        return shipped
    settings.ML_ARTIFACTS_DIR = tmp_path / "artifacts"
    copy = settings.ML_ARTIFACTS_DIR / shipped.name
    shutil.copytree(shipped, copy)
    plot_reliability([0.95, 0.99, 0.6], [True, True, False], copy / "reliability.png", "test")
    model_versions.model_versions_sync()
    model_versions.model_version_activate(version=ModelVersion.objects.get(path=shipped.name).version)
    return copy


def test_the_dashboard_shows_the_serving_models_reliability_diagram(staff_client, reliable_model):
    version = json.loads((reliable_model / METADATA_FILE).read_text())["version"]

    response = staff_client.get(DASHBOARD)

    url = reverse("recognition:staff-model-plot", args=[version, "reliability"])
    assert url in response.content.decode() and "reliability" in response.context["model"]["plots"]
    image = staff_client.get(url)
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content) == (reliable_model / "reliability.png").read_bytes()


def test_once_staff_label_answers_a_reliability_diagram_is_drawn_from_them(
        staff_client, owner_client, owner, staff, digit_png, finished_prediction):
    version = get_engine(selectors.serving_model_dir()).version
    url = reverse("recognition:staff-labelled-reliability", args=[version])
    assert staff_client.get(url).status_code == 404  # no labels yet
    assert "Once staff review" in staff_client.get(DASHBOARD).content.decode()

    right, wrong, unreviewed = (finished_prediction(owner, digit_png[0]) for _ in range(3))
    services.prediction_review(prediction=right, label=digit_png[1], reviewer=staff)
    services.prediction_review(prediction=wrong, label="1", reviewer=staff)
    services.prediction_give_feedback(prediction=unreviewed, label="1")  # the owner's word: not a staff label

    response = staff_client.get(DASHBOARD)
    labelled = response.context["model"]["labelled"]
    assert labelled["count"] == 2 and labelled["accuracy"] == 0.5
    # Two answers of the same confidence c in one bin, half right: ECE = |0.5 - c|.
    assert labelled["ece"] == pytest.approx(abs(0.5 - right.confidence), abs=1e-6)
    assert url in response.content.decode()
    image = staff_client.get(url)
    assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert owner_client.get(url).status_code == 404  # staff only
