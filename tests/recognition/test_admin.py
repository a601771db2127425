import csv
import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from recognition import runs, services
from recognition.models import Prediction

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:recognition_prediction_changelist"


def listed(response) -> set:
    return {p.pk for p in response.context["cl"].result_list}


@pytest.fixture
def rows(owner, other, digit_png, number_png, blank_png, finished_prediction):
    """Predictions of two people covering every filter: answer 7 (digit_png), a number, a
    failure, owner's feedback agreeing and disagreeing, a reviewed one, set confidences."""
    agreed = finished_prediction(owner, digit_png[0])
    disputed = finished_prediction(owner, digit_png[0])
    reviewed = finished_prediction(other, digit_png[0])
    number = finished_prediction(other, number_png[0], mode="number")
    failed = finished_prediction(other, blank_png)
    services.prediction_give_feedback(prediction=agreed, label=digit_png[1])
    services.prediction_give_feedback(prediction=disputed, label="1")
    services.prediction_review(prediction=reviewed, label=digit_png[1], reviewer=None)
    Prediction.objects.filter(pk=agreed.pk).update(confidence=0.95)
    Prediction.objects.filter(pk=disputed.pk).update(confidence=0.3)
    Prediction.objects.filter(pk=reviewed.pk).update(confidence=0.7)
    Prediction.objects.filter(pk=number.pk).update(confidence=0.9)
    Prediction.objects.filter(pk=failed.pk).update(created_at=timezone.now() - timedelta(days=40))
    return {"agreed": agreed, "disputed": disputed, "reviewed": reviewed, "number": number, "failed": failed}


def test_staff_see_everyones_predictions_with_thumbnails(staff_client, rows):
    response = staff_client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert listed(response) == {p.pk for p in rows.values()}
    html = response.content.decode()
    for prediction in rows.values():
        assert reverse("recognition:staff-image", args=[prediction.pk]) in html
    assert "owner" in html and "other" in html
    assert "1 &ne; 7" in html  # the disputed feedback stands out


def test_every_admin_link_on_the_list_and_a_prediction_opens_for_staff(staff_client, staff, rows):
    # Staff who are not superusers may not open user accounts: no link may lead there.
    import re

    services.prediction_review(prediction=rows["reviewed"], label="7", reviewer=staff)
    pages = [reverse(CHANGELIST), reverse("admin:recognition_prediction_change", args=[rows["reviewed"].pk])]
    links = set()
    for page in pages:
        html = staff_client.get(page).content.decode()
        links |= {href.replace("&amp;", "&") for href in re.findall(r'href="(/admin/[^"#]*)"', html)}
    assert any("owner__id__exact" in link for link in links)  # the owner leads to their predictions
    for link in sorted(links):
        if "/logout/" not in link:
            assert staff_client.get(link).status_code == 200, link
    by_owner = staff_client.get(reverse(CHANGELIST), {"owner__id__exact": rows["reviewed"].owner_id})
    assert listed(by_owner) == {rows[name].pk for name in ("reviewed", "number", "failed")}


@pytest.mark.parametrize("query, expected", [
    ({"status__exact": "failed"}, {"failed"}),
    ({"mode__exact": "number"}, {"number"}),
    ({"source__exact": "draw"}, {"agreed", "disputed", "reviewed", "number", "failed"}),
    ({"answer": "7"}, {"agreed", "disputed", "reviewed"}),
    ({"answer": "number"}, {"number"}),
    ({"has_feedback": "yes"}, {"agreed", "disputed"}),
    ({"has_feedback": "no"}, {"reviewed", "number", "failed"}),
    ({"feedback_disagrees": "yes"}, {"disputed"}),
    ({"feedback_disagrees": "no"}, {"agreed"}),
    ({"reviewed": "yes"}, {"reviewed"}),
    ({"reviewed": "no"}, {"agreed", "disputed", "number", "failed"}),
    ({"confidence_band": "low"}, {"disputed"}),
    ({"confidence_band": "medium"}, {"reviewed"}),
    ({"confidence_band": "high"}, {"agreed", "number"}),
    # The date filter's "Past 7 days" link.
    ({"created_at__gte": str(timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
                             - timedelta(days=7))}, {"agreed", "disputed", "reviewed", "number"}),
    ({"q": "oth"}, {"reviewed", "number", "failed"}),
])
def test_staff_filter_and_search_the_list(staff_client, rows, query, expected):
    response = staff_client.get(reverse(CHANGELIST), query)

    assert response.status_code == 200
    assert listed(response) == {rows[name].pk for name in expected}


def test_staff_filter_by_model_version(staff_client, rows):
    Prediction.objects.filter(pk=rows["number"].pk).update(model_version="cnn-older")

    response = staff_client.get(reverse(CHANGELIST), {"model_version": "cnn-older"})

    assert listed(response) == {rows["number"].pk}


def test_the_detail_shows_the_image_what_the_model_saw_its_probabilities_and_timings(staff_client, rows):
    number = rows["number"]

    response = staff_client.get(reverse("admin:recognition_prediction_change", args=[number.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("recognition:staff-image", args=[number.pk]) in html
    for index in range(len(number.digits)):
        assert reverse("recognition:staff-model-input", args=[number.pk, index]) in html
    assert html.count('data-testid="admin-prob-chart"') == len(number.digits) == 4
    assert html.count("<rect ") == 40
    assert "ran " in html and "in all " in html
    assert number.model_version in html
    # What the model wrote is shown, not editable; the reviewed label is the one input.
    assert 'name="answer"' not in html and 'name="confidence"' not in html
    assert 'name="reviewed_label"' in html


def test_staff_set_a_reviewed_label_in_the_detail(staff_client, staff, rows):
    number = rows["number"]

    response = staff_client.post(reverse("admin:recognition_prediction_change", args=[number.pk]),
                                 {"reviewed_label": "1234"})

    assert response.status_code == 302
    number.refresh_from_db()
    assert number.reviewed_label == "1234" and number.reviewed_by == staff and number.reviewed_at


def test_the_detail_refuses_a_label_that_is_not_a_digit(staff_client, rows):
    agreed = rows["agreed"]

    response = staff_client.post(reverse("admin:recognition_prediction_change", args=[agreed.pk]),
                                 {"reviewed_label": "77"})

    assert response.status_code == 200
    assert "give one digit" in response.content.decode()
    agreed.refresh_from_db()
    assert agreed.reviewed_label == ""


def test_a_failed_prediction_cannot_be_reviewed_in_the_detail(staff_client, rows):
    failed = rows["failed"]

    page = staff_client.get(reverse("admin:recognition_prediction_change", args=[failed.pk]))
    response = staff_client.post(reverse("admin:recognition_prediction_change", args=[failed.pk]),
                                 {"reviewed_label": "3"})

    assert 'name="reviewed_label"' not in page.content.decode()
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.reviewed_label == ""


def test_the_set_label_action_asks_for_the_label_first(staff_client, rows):
    selected = [rows["agreed"].pk, rows["disputed"].pk]

    response = staff_client.post(reverse(CHANGELIST), {"action": "set_reviewed_label", "_selected_action": selected})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="review-form"' in html and 'name="label"' in html
    for pk in selected:
        assert f'name="_selected_action" value="{pk}"' in html
    assert not Prediction.objects.exclude(reviewed_label="").exclude(pk=rows["reviewed"].pk).exists()


def test_the_set_label_action_sets_the_label_on_the_selection(staff_client, staff, rows):
    selected = [rows["agreed"].pk, rows["disputed"].pk, rows["number"].pk]

    response = staff_client.post(reverse(CHANGELIST), {"action": "set_reviewed_label", "_selected_action": selected,
                                                       "label": "4", "apply": "Set the label"}, follow=True)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Reviewed label 4 set on 3 predictions." in html
    for name in ("agreed", "disputed", "number"):
        rows[name].refresh_from_db()
        assert rows[name].reviewed_label == "4" and rows[name].reviewed_by == staff
    rows["reviewed"].refresh_from_db()
    assert rows["reviewed"].reviewed_label == "7"  # not selected


def test_the_set_label_action_leaves_what_cannot_take_the_label(staff_client, rows):
    selected = [rows["agreed"].pk, rows["number"].pk, rows["failed"].pk]

    response = staff_client.post(reverse(CHANGELIST), {"action": "set_reviewed_label", "_selected_action": selected,
                                                       "label": "1234", "apply": "Set the label"}, follow=True)

    html = response.content.decode()
    assert "Reviewed label 1234 set on 1 prediction." in html and "Left 2 unchanged" in html
    rows["number"].refresh_from_db()
    rows["agreed"].refresh_from_db()
    assert rows["number"].reviewed_label == "1234" and rows["agreed"].reviewed_label == ""


def test_the_set_label_action_shows_the_form_again_for_a_bad_label(staff_client, rows):
    response = staff_client.post(reverse(CHANGELIST), {"action": "set_reviewed_label",
                                                       "_selected_action": [rows["agreed"].pk],
                                                       "label": "seven", "apply": "Set the label"})

    assert response.status_code == 200
    assert "digits only" in response.content.decode()
    rows["agreed"].refresh_from_db()
    assert rows["agreed"].reviewed_label == ""


def test_mark_reviewed_takes_the_feedback_else_the_answer(staff_client, staff, rows):
    selected = [p.pk for p in rows.values()]

    response = staff_client.post(reverse(CHANGELIST), {"action": "mark_reviewed", "_selected_action": selected},
                                 follow=True)

    assert "Marked 3 predictions reviewed; 2 left as they were" in response.content.decode()
    labels = {name: Prediction.objects.get(pk=p.pk).reviewed_label for name, p in rows.items()}
    assert labels == {"agreed": "7", "disputed": "1", "reviewed": "7", "number": rows["number"].answer,
                      "failed": ""}
    assert Prediction.objects.get(pk=rows["disputed"].pk).reviewed_by == staff
    assert Prediction.objects.get(pk=rows["reviewed"].pk).reviewed_by is None  # kept as it was


def test_export_csv_streams_the_selected_rows(staff_client, rows):
    selected = [rows["disputed"].pk, rows["number"].pk]

    response = staff_client.post(reverse(CHANGELIST), {"action": "export_csv", "_selected_action": selected})

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {line["id"] for line in lines} == {str(pk) for pk in selected}
    disputed = next(line for line in lines if line["id"] == str(rows["disputed"].pk))
    assert disputed["owner"] == "owner" and disputed["answer"] == "7" and disputed["feedback_label"] == "1"
    assert disputed["confidence"] == "0.3" and disputed["status"] == "done" and disputed["model_version"]
    assert disputed["not_sure"] == "False"
    assert disputed["created_at"].startswith(str(rows["disputed"].created_at.year))


def test_nobody_adds_or_deletes_predictions_in_the_admin(staff_client, rows):
    assert staff_client.get(reverse("admin:recognition_prediction_add")).status_code == 403
    delete = staff_client.get(reverse("admin:recognition_prediction_delete", args=[rows["agreed"].pk]))
    assert delete.status_code == 403


@pytest.mark.parametrize("who", ["owner", "other", None])
def test_others_are_sent_to_the_admin_login(client, request, rows, who):
    if who:
        client.force_login(request.getfixturevalue(who))
    pk = rows["agreed"].pk
    for url in (reverse(CHANGELIST), reverse("admin:recognition_prediction_change", args=[pk])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    response = client.post(reverse(CHANGELIST), {"action": "mark_reviewed", "_selected_action": [pk]})
    assert response.status_code == 302
    response = client.post(reverse("admin:recognition_prediction_change", args=[pk]), {"reviewed_label": "1"})
    assert response.status_code == 302
    assert not Prediction.objects.filter(pk=pk).exclude(reviewed_label="").exists()


# --- Staff image views --------------------------------------------------------------------------

def test_staff_load_any_users_image_and_model_input(staff_client, rows, digit_png):
    pk = rows["reviewed"].pk  # other's

    image = staff_client.get(reverse("recognition:staff-image", args=[pk]))
    model_input = staff_client.get(reverse("recognition:staff-model-input", args=[pk, 0]))

    assert image.status_code == 200 and b"".join(image.streaming_content) == digit_png[0]
    assert model_input.status_code == 200 and model_input["Content-Type"] == "image/png"
    assert staff_client.get(reverse("recognition:staff-model-input", args=[pk, 1])).status_code == 404


@pytest.mark.parametrize("who", ["owner", "other", None])
def test_the_staff_image_views_are_404_for_everyone_else(client, request, rows, who):
    if who:
        client.force_login(request.getfixturevalue(who))
    for prediction in (rows["agreed"], rows["reviewed"]):  # the owner's own, and other's
        assert client.get(reverse("recognition:staff-image", args=[prediction.pk])).status_code == 404
        assert client.get(reverse("recognition:staff-model-input", args=[prediction.pk, 0])).status_code == 404


# --- Review services ----------------------------------------------------------------------------

def test_review_needs_an_answered_prediction(staff, owner, blank_png, finished_prediction):
    failed = finished_prediction(owner, blank_png)
    with pytest.raises(ValidationError) as error:
        services.prediction_review(prediction=failed, label="3", reviewer=staff)
    assert error.value.code == "not_done"


def test_an_empty_review_clears_the_label(staff, owner, digit_png, finished_prediction):
    prediction = finished_prediction(owner, digit_png[0])
    services.prediction_review(prediction=prediction, label="3", reviewer=staff)
    services.prediction_review(prediction=prediction, label="", reviewer=staff)
    prediction.refresh_from_db()
    assert prediction.reviewed_label == "" and prediction.reviewed_at is None and prediction.reviewed_by is None


def test_a_page_shows_its_lines_in_the_list_and_the_detail(staff_client, owner, page_png, finished_prediction):
    page = finished_prediction(owner, page_png[0], mode="page")

    listing = staff_client.get(reverse(CHANGELIST), {"mode__exact": "page"})
    detail = staff_client.get(reverse("admin:recognition_prediction_change", args=[page.pk]))

    assert listed(listing) == {page.pk}
    assert detail.status_code == 200
    html = detail.content.decode()
    assert html.count('data-testid="admin-line"') == len(page_png[1])
    for index, number in enumerate(page_png[1], start=1):
        assert f"{index}. <strong>{number}</strong>" in html
    assert html.count('data-testid="admin-prob-chart"') == sum(len(number) for number in page_png[1])


def test_mark_reviewed_leaves_a_page_to_a_label_set_by_hand(staff_client, staff, owner, page_png, finished_prediction):
    page = finished_prediction(owner, page_png[0], mode="page")

    response = staff_client.post(reverse(CHANGELIST), {"action": "mark_reviewed", "_selected_action": [page.pk]},
                                 follow=True)

    assert "Marked 0 predictions reviewed; 1 left as it was" in response.content.decode()
    page.refresh_from_db()
    assert page.reviewed_label == ""


def test_feedback_agreeing_with_a_page_line_after_line_counts_as_agreeing(staff_client, owner, page_png,
                                                                          finished_prediction):
    page = finished_prediction(owner, page_png[0], mode="page")
    services.prediction_give_feedback(prediction=page, label=" ".join(page_png[1]))

    agrees = staff_client.get(reverse(CHANGELIST), {"feedback_disagrees": "no"})
    disagrees = staff_client.get(reverse(CHANGELIST), {"feedback_disagrees": "yes"})

    assert listed(agrees) == {page.pk} and listed(disagrees) == set()


def test_export_csv_gives_a_page_one_row_per_line(staff_client, owner, page_png, finished_prediction):
    page = finished_prediction(owner, page_png[0], mode="page")

    response = staff_client.post(reverse(CHANGELIST), {"action": "export_csv", "_selected_action": [page.pk]})

    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(line["id"], line["line"], line["answer"]) for line in lines] == [
        (str(page.pk), str(index), number) for index, number in enumerate(page_png[1], start=1)]
    assert [float(line["confidence"]) for line in lines] == [line["confidence"] for line in page.lines]
