import json
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from recognition import dashboard, runs, selectors, services
from recognition.models import Prediction

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("staff-dashboard")


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


class _ElementText(HTMLParser):
    VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}

    def __init__(self, testid: str):
        super().__init__()
        self.testid, self.depth, self.parts, self.found = testid, 0, [], False

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += tag not in self.VOID
        elif dict(attrs).get("data-testid") == self.testid and not self.found:
            self.depth, self.found = 1, True

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def element_text(response, name: str) -> str:
    """The text of the element with data-testid=name, whitespace collapsed."""
    parser = _ElementText(name)
    parser.feed(response.content.decode())
    assert parser.found, name
    return " ".join(" ".join(parser.parts).split())


@pytest.fixture
def labelled(owner, other, digit_png, finished_prediction):
    """Three labelled answers of 7, two right: feedback 7, reviewed 7 over feedback 1, feedback 1;
    and one unlabelled."""
    right_by_feedback = finished_prediction(owner, digit_png[0])
    right_by_review = finished_prediction(other, digit_png[0])
    wrong = finished_prediction(owner, digit_png[0])
    unlabelled = finished_prediction(owner, digit_png[0])
    services.prediction_give_feedback(prediction=right_by_feedback, label="7")
    services.prediction_give_feedback(prediction=right_by_review, label="1")
    services.prediction_review(prediction=right_by_review, label="7", reviewer=None)
    services.prediction_give_feedback(prediction=wrong, label="1")
    return {"right_by_feedback": right_by_feedback, "right_by_review": right_by_review, "wrong": wrong,
            "unlabelled": unlabelled}


@pytest.mark.parametrize("who", ["owner", "other", None])
def test_it_is_404_for_everyone_but_staff(client, request, who):
    if who:
        client.force_login(request.getfixturevalue(who))
    assert client.get(DASHBOARD).status_code == 404


def test_it_shows_accuracy_measured_on_labelled_predictions_reviewed_label_first(staff_client, labelled):
    response = staff_client.get(DASHBOARD)

    assert response.status_code == 200
    accuracy = element_text(response, "dash-accuracy")
    assert "66.7%" in accuracy and "2 right of 3 labelled answers" in accuracy


def test_it_counts_a_labelled_image_without_an_answer_apart(staff_client, labelled, owner, blank_png,
                                                            finished_prediction):
    failed = finished_prediction(owner, blank_png)
    services.prediction_give_feedback(prediction=failed, label="4")

    accuracy = element_text(staff_client.get(DASHBOARD), "dash-accuracy")

    assert "66.7%" in accuracy and "1 labelled image not answered" in accuracy


def test_the_confusion_matrix_counts_right_digit_against_answer(staff_client, labelled, owner, number_png,
                                                                finished_prediction):
    number = finished_prediction(owner, number_png[0], mode="number")
    services.prediction_give_feedback(prediction=number, label=number_png[1])  # numbers stay out

    response = staff_client.get(DASHBOARD)

    assert dashboard.confusion_matrix()[7][7] == 2 and dashboard.confusion_matrix()[1][7] == 1
    assert sum(map(sum, dashboard.confusion_matrix())) == 3
    html = response.content.decode()
    assert re.search(r'data-testid="cell-7-7"[^>]*>2</td>', html)
    assert re.search(r'data-testid="cell-1-7"[^>]*>1</td>', html)
    assert re.search(r'data-testid="cell-0-0"[^>]*></td>', html)
    # Shade: the cell's share of its row (both sevens read right; the one 1 read as 7).
    assert re.search(r'--strength: 1.000"\s+data-testid="cell-7-7"', html)
    assert re.search(r'--strength: 0.000"\s+data-testid="cell-7-1"', html)


def test_it_shows_the_share_answered_with_low_confidence(staff_client, labelled):
    for name, confidence in [("right_by_feedback", 0.5), ("right_by_review", 0.79),
                             ("wrong", 0.8), ("unlabelled", 0.99)]:
        Prediction.objects.filter(pk=labelled[name].pk).update(confidence=confidence)

    low = element_text(staff_client.get(DASHBOARD), "dash-low-confidence")

    assert "50.0%" in low and "2 of 4 answered" in low


def test_it_charts_predictions_per_day_for_30_days(staff_client, labelled):
    now = timezone.now()
    Prediction.objects.filter(pk=labelled["wrong"].pk).update(created_at=now - timedelta(days=3))
    Prediction.objects.filter(pk=labelled["unlabelled"].pk).update(created_at=now - timedelta(days=45))

    response = staff_client.get(DASHBOARD)

    counts = [int(n) for n in re.findall(r'data-testid="day-bar" data-count="(\d+)"', response.content.decode())]
    assert len(counts) == 30 and counts[-1] == 2 and counts[-4] == 1 and sum(counts) == 3
    assert element_text(response, "dash-volume") == "Predictions, last 30 days 3"


def test_the_review_queue_lists_the_least_confident_and_the_disputed_not_yet_reviewed(staff_client, labelled):
    Prediction.objects.filter(pk=labelled["unlabelled"].pk).update(confidence=0.01)

    response = staff_client.get(DASHBOARD)

    least = response.context["queue"]["least_confident"]
    disputed = response.context["queue"]["disputed"]
    assert least[0].pk == labelled["unlabelled"].pk
    assert labelled["right_by_review"].pk not in {p.pk for p in least}  # reviewed already
    assert [p.pk for p in disputed] == [labelled["wrong"].pk]
    html = response.content.decode()
    assert reverse("admin:recognition_prediction_change", args=[labelled["wrong"].pk]) in html
    assert "answered 7, owner says 1" in element_text(response, "queue-disputed")


def test_it_lists_the_slowest_predictions_by_run_time_and_by_waiting_time(staff_client, labelled):
    start = timezone.now()
    timings = {"wrong": (0, 5, 6), "unlabelled": (30, 31, 32), "right_by_feedback": (0, 0.1, 0.2)}
    for name, (started, finished_after, _) in timings.items():
        Prediction.objects.filter(pk=labelled[name].pk).update(
            created_at=start, started_at=start + timedelta(seconds=started),
            finished_at=start + timedelta(seconds=finished_after))

    response = staff_client.get(DASHBOARD)

    slowest = response.context["slowest"]
    assert slowest["run"][0].pk == labelled["wrong"].pk
    assert slowest["total"][0].pk == labelled["unlabelled"].pk
    assert "5.00 s" in element_text(response, "slowest-run") and "31.00 s" in element_text(response, "slowest-total")


def test_it_shows_the_serving_model_with_per_class_accuracy_and_plots(staff_client):
    metadata = json.loads((selectors.serving_model_dir() / "metadata.json").read_text())

    response = staff_client.get(DASHBOARD)

    model = element_text(response, "dash-model")
    assert metadata["version"] in model and f"{100 * metadata['test_accuracy']:.2f}% on MNIST test" in model
    assert "Activated" in model  # migrate activated the shipped model
    per_class = element_text(response, "dash-per-class")
    assert f"{100 * metadata['per_class_accuracy']['5']:.2f}%" in per_class
    html = response.content.decode()
    for plot in ("confusion_matrix", "training_curves"):
        url = reverse("recognition:staff-model-plot", args=[metadata["version"], plot])
        assert url in html
        image = staff_client.get(url)
        assert image.status_code == 200 and image["Content-Type"] == "image/png"
        assert b"".join(image.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"


def test_it_renders_with_no_predictions_at_all(staff_client):
    response = staff_client.get(DASHBOARD)

    assert response.status_code == 200
    assert "Nothing to review." in text(response) and "—" in element_text(response, "dash-accuracy")


def test_staff_find_the_dashboard_in_the_menu_and_others_do_not(staff_client, owner_client):
    assert f'href="{DASHBOARD}" data-testid="nav-dashboard"' in staff_client.get(reverse("home")).content.decode()
    assert 'data-testid="nav-dashboard"' not in owner_client.get(reverse("home")).content.decode()
