"""The draw, upload, history and detail pages, through Django's test client."""
import csv
import io
import re
from datetime import datetime, timezone

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from recognition import runs, services
from recognition.models import Prediction

pytestmark = pytest.mark.django_db

HISTORY = "/history/"
CSV_HEADER = ["id", "created_at", "source", "mode", "status", "line", "answer", "confidence", "feedback_label",
              "model_version", "error"]


def _pending(owner, image: bytes) -> Prediction:
    return services.prediction_create(owner=owner, image=image, source="upload")


def _row_ids(response) -> list[str]:
    return re.findall(r'data-testid="history-row" data-id="([0-9a-f-]+)"', response.content.decode())


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def _urls_of(prediction: Prediction) -> dict[str, str]:
    return {
        "detail": reverse("recognition:detail", args=[prediction.pk]),
        "image": reverse("recognition:image", args=[prediction.pk]),
        "model-input": reverse("recognition:model-input", args=[prediction.pk, 0]),
    }


# --- Who may see what ---------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/draw/", "/upload/", "/history/", "/history/export.csv"])
def test_it_sends_anonymous_visitors_to_log_in_and_back(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={path}"


def test_it_sends_anonymous_visitors_to_log_in_from_a_prediction_and_changes_nothing(client, owner, digit_png,
                                                                                     finished_prediction):
    prediction = finished_prediction(owner, digit_png[0])

    for path in _urls_of(prediction).values():
        response = client.get(path)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/?next=")
    for name in ("recognition:feedback", "recognition:delete"):
        response = client.post(reverse(name, args=[prediction.pk]), {"label": "1"})
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/?next=")

    prediction.refresh_from_db()
    assert prediction.feedback_label == ""


@pytest.mark.parametrize("outsider", ["other", "staff"])
def test_it_answers_404_for_someone_elses_prediction_on_every_page(request, owner, digit_png, outsider,
                                                                   finished_prediction):
    # Staff too: reviewing other people's predictions is the admin's job, not these pages'.
    prediction = finished_prediction(owner, digit_png[0])
    client = request.getfixturevalue(f"{outsider}_client")

    for path in _urls_of(prediction).values():
        assert client.get(path).status_code == 404, path
    assert client.post(reverse("recognition:feedback", args=[prediction.pk]), {"label": "1"}).status_code == 404
    assert client.post(reverse("recognition:delete", args=[prediction.pk])).status_code == 404

    prediction.refresh_from_db()
    assert prediction.feedback_label == ""
    assert Prediction.objects.filter(pk=prediction.pk).exists()


def test_it_shows_the_owner_their_prediction_image_and_model_input(owner, digit_png, finished_prediction, owner_client):
    prediction = finished_prediction(owner, digit_png[0])

    image = owner_client.get(_urls_of(prediction)["image"])
    model_input = owner_client.get(_urls_of(prediction)["model-input"])

    assert image.status_code == 200 and b"".join(image.streaming_content) == digit_png[0]
    assert model_input.status_code == 200 and model_input["Content-Type"] == "image/png"


@pytest.mark.parametrize("name", ["recognition:feedback", "recognition:delete"])
def test_it_refuses_to_change_state_on_get(owner, digit_png, name, finished_prediction, owner_client):
    prediction = finished_prediction(owner, digit_png[0])

    response = owner_client.get(reverse(name, args=[prediction.pk]), {"label": "1"})

    assert response.status_code == 405
    prediction.refresh_from_db()
    assert prediction.feedback_label == ""


# --- Draw and upload ----------------------------------------------------------------------

def test_it_renders_the_draw_page_with_its_canvas_controls_and_api_wiring(owner_client):
    response = owner_client.get(reverse("recognition:draw"))

    assert response.status_code == 200
    html = response.content.decode()
    for testid in ("draw-canvas", "mode-digit", "mode-number", "recognize", "undo", "clear", "brush-size",
                   "tool-eraser", "result-area"):
        assert f'data-testid="{testid}"' in html, testid
    assert 'data-api-url="/api/v1/predictions/"' in html
    assert 'data-detail-url="/history/00000000-0000-0000-0000-000000000000/"' in html
    assert re.search(r'<meta name="csrf-token" content="[\w-]{32,}">', html)
    assert '<script type="module" src="/static/recognition/draw.js">' in html
    assert 'class="nav-link active" href="/draw/"' in html


def test_it_renders_the_upload_page_with_a_multiple_image_input_a_camera_input_and_the_size_limit(
        settings, owner_client):
    settings.MAX_UPLOAD_BYTES = 3 * 1024 * 1024

    response = owner_client.get(reverse("recognition:upload"))

    assert response.status_code == 200
    html = response.content.decode()
    file_input = re.search(r'<input[^>]+data-testid="upload-input"[^>]*>', html)[0]
    for attribute in ('type="file"', "multiple", 'accept="image/*"'):
        assert attribute in file_input
    assert "capture" not in file_input  # a phone would open its camera only, never the gallery
    camera_input = re.search(r'<input[^>]+data-testid="camera-input"[^>]*>', html)[0]
    for attribute in ('type="file"', 'accept="image/*"', 'capture="environment"'):
        assert attribute in camera_input
    assert f'data-max-bytes="{3 * 1024 * 1024}"' in html
    assert "up to 3.0\xa0MB each" in html  # filesizeformat keeps the number and unit together
    assert 'data-testid="drop-zone"' in html and 'data-testid="mode-number"' in html
    assert '<script type="module" src="/static/recognition/upload.js">' in html


def test_it_serves_the_pages_scripts_and_styles(owner_client):
    for name in ("api.js", "result.js", "draw.js", "upload.js", "detail.js", "recognition.css"):
        response = owner_client.get(f"/static/recognition/{name}")
        assert response.status_code == 200, name


def test_it_lets_the_pages_post_to_the_api_with_the_csrf_token_from_their_meta_tag(owner, digit_png):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    token = re.search(r'<meta name="csrf-token" content="([\w-]+)">',
                      client.get(reverse("recognition:draw")).content.decode())[1]
    image = {"image": SimpleUploadedFile("drawing.png", digit_png[0]), "source": "draw"}

    refused = client.post("/api/v1/predictions/", image)
    image["image"].seek(0)
    accepted = client.post("/api/v1/predictions/", image, HTTP_X_CSRFTOKEN=token)

    assert refused.status_code == 403
    assert accepted.status_code == 202
    assert Prediction.objects.get().source == Prediction.Source.DRAW


# --- History ------------------------------------------------------------------------------

def test_it_lists_only_my_predictions_newest_first(owner, other, digit_png, blank_png, finished_prediction,
                                                   owner_client):
    first = finished_prediction(owner, digit_png[0])
    second = finished_prediction(owner, blank_png)
    finished_prediction(other, digit_png[0])

    response = owner_client.get(HISTORY)

    assert response.status_code == 200
    assert _row_ids(response) == [str(second.pk), str(first.pk)]


def test_it_shows_each_rows_thumbnail_answer_confidence_source_mode_status_and_feedback(
        owner, digit_png, finished_prediction, owner_client):
    prediction = finished_prediction(owner, digit_png[0], source="upload")
    services.prediction_give_feedback(prediction=prediction, label=prediction.answer)

    html = " ".join(owner_client.get(HISTORY).content.decode().split())

    assert f'<img class="history-thumb" src="/predictions/{prediction.pk}/image" loading="lazy"' in html
    assert f'data-testid="history-answer">{digit_png[1]}</a>' in html
    assert f"{prediction.confidence * 100:.1f}%" in html
    assert "Uploaded" in html and "Single digit" in html and ">Done<" in html
    assert "✓ correct" in html
    assert prediction.created_at.strftime("%Y-%m-%d %H:%M") in html


def test_it_names_why_a_failed_row_failed(owner, blank_png, finished_prediction, owner_client):
    finished_prediction(owner, blank_png)

    html = owner_client.get(HISTORY).content.decode()

    assert ">No digit found</span>" in html


@pytest.mark.parametrize("query, expected", [
    ({"digit": "7"}, ["seven"]),
    ({"status": "failed"}, ["blank"]),
    ({"source": "upload"}, ["number"]),
    ({"mode": "number"}, ["number"]),
    ({"has_feedback": "true"}, ["seven"]),
    ({"has_feedback": "false"}, ["number", "blank"]),
    ({"status": "done", "mode": "digit"}, ["seven"]),
])
def test_it_filters_history(owner, digit_png, number_png, blank_png, query, expected, finished_prediction,
                            owner_client):
    rows = {
        "seven": finished_prediction(owner, digit_png[0]),
        "blank": finished_prediction(owner, blank_png),
        "number": finished_prediction(owner, number_png[0], mode="number", source="upload"),
    }
    services.prediction_give_feedback(prediction=rows["seven"], label="7")

    response = owner_client.get(HISTORY, query)

    assert response.status_code == 200
    assert _row_ids(response) == [str(rows[name].pk) for name in expected]


def test_it_filters_history_by_date_range(owner, digit_png, blank_png, finished_prediction, owner_client):
    old = finished_prediction(owner, digit_png[0])
    new = finished_prediction(owner, blank_png)
    Prediction.objects.filter(pk=old.pk).update(created_at=datetime(2024, 1, 10, 12, tzinfo=timezone.utc))
    Prediction.objects.filter(pk=new.pk).update(created_at=datetime(2024, 3, 5, 12, tzinfo=timezone.utc))

    assert _row_ids(owner_client.get(HISTORY, {"created_before": "2024-01-10"})) == [str(old.pk)]
    assert _row_ids(owner_client.get(HISTORY, {"created_after": "2024-01-11"})) == [str(new.pk)]
    assert _row_ids(owner_client.get(HISTORY, {"created_after": "2024-01-01", "created_before": "2024-12-31"})) == [
        str(new.pk), str(old.pk)]


def test_it_shows_form_errors_for_invalid_filters_instead_of_failing(owner, digit_png, finished_prediction,
                                                                     owner_client):
    finished_prediction(owner, digit_png[0])

    response = owner_client.get(HISTORY, {"status": "bogus", "created_after": "not-a-date"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="filter-errors"' in html
    assert 'data-testid="filter-error-status"' in html and 'data-testid="filter-error-created_after"' in html
    assert _row_ids(response) == []


def test_it_paginates_history_25_a_page_and_keeps_the_filters_in_page_links(owner, digit_png, blank_png, owner_client):
    services.predictions_create(owner=owner, images=[(digit_png[0], "")] * 27, source="upload")
    services.prediction_create(owner=owner, image=blank_png, source="draw")

    first = owner_client.get(HISTORY, {"source": "upload"})
    second = owner_client.get(HISTORY, {"source": "upload", "page": "2"})

    assert len(_row_ids(first)) == 25 and len(_row_ids(second)) == 2
    assert set(_row_ids(first)).isdisjoint(_row_ids(second))
    assert 'href="?source=upload&amp;page=2" data-testid="page-next"' in first.content.decode()
    assert 'href="?source=upload&amp;page=1" data-testid="page-previous"' in second.content.decode()
    assert "28 predictions" not in first.content.decode() and "27 predictions" in first.content.decode()


def test_it_shows_the_last_page_for_a_page_number_out_of_range(owner, digit_png, finished_prediction, owner_client):
    prediction = finished_prediction(owner, digit_png[0])

    response = owner_client.get(HISTORY, {"page": "99"})

    assert response.status_code == 200
    assert _row_ids(response) == [str(prediction.pk)]


def test_it_invites_a_new_user_to_draw_or_upload(owner_client):
    html = owner_client.get(HISTORY).content.decode()

    assert 'data-testid="history-empty"' in html and 'href="/draw/"' in html


# --- CSV export ---------------------------------------------------------------------------

def test_it_exports_all_my_predictions_as_csv_with_a_header(owner, other, digit_png, blank_png, finished_prediction,
                                                            owner_client):
    seven = finished_prediction(owner, digit_png[0])
    blank = finished_prediction(owner, blank_png, source="upload")
    finished_prediction(other, digit_png[0])
    services.prediction_give_feedback(prediction=seven, label="1")

    response = owner_client.get(reverse("recognition:history-export"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'attachment; filename="digitrec-history.csv"' == response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == CSV_HEADER
    by_id = {row[0]: dict(zip(CSV_HEADER, row)) for row in rows[1:]}
    assert list(by_id) == [str(blank.pk), str(seven.pk)]
    assert by_id[str(seven.pk)]["answer"] == "7" and by_id[str(seven.pk)]["feedback_label"] == "1"
    assert float(by_id[str(seven.pk)]["confidence"]) == seven.confidence
    assert by_id[str(seven.pk)]["model_version"] == seven.model_version
    assert by_id[str(seven.pk)]["created_at"] == seven.created_at.isoformat()
    assert by_id[str(blank.pk)]["status"] == "failed" and by_id[str(blank.pk)]["source"] == "upload"
    assert by_id[str(blank.pk)]["confidence"] == "" and by_id[str(blank.pk)]["error"] == blank.error


def test_it_exports_a_page_as_one_row_per_line(owner, page_png, finished_prediction, owner_client):
    page = finished_prediction(owner, page_png[0], mode="page")

    rows = [dict(zip(CSV_HEADER, row)) for row in _csv(owner_client.get(reverse("recognition:history-export")))[1:]]

    assert [(row["id"], row["line"], row["answer"]) for row in rows] == [
        (str(page.pk), str(index), number) for index, number in enumerate(page_png[1], start=1)]
    assert [float(row["confidence"]) for row in rows] == [line["confidence"] for line in page.lines]
    assert all(row["mode"] == "page" and row["status"] == "done" for row in rows)


def test_it_exports_only_the_rows_matching_the_filters(owner, digit_png, blank_png, finished_prediction, owner_client):
    finished_prediction(owner, digit_png[0])
    blank = finished_prediction(owner, blank_png)

    rows = _csv(owner_client.get(reverse("recognition:history-export"), {"status": "failed"}))

    assert [row[0] for row in rows[1:]] == [str(blank.pk)]


def test_it_exports_every_matching_row_not_just_one_page(owner, digit_png, owner_client):
    services.predictions_create(owner=owner, images=[(digit_png[0], "")] * 30, source="draw")

    rows = _csv(owner_client.get(reverse("recognition:history-export")))

    assert len(rows) == 31


def test_it_sends_an_export_with_invalid_filters_to_the_history_form(owner_client):
    response = owner_client.get(reverse("recognition:history-export"), {"status": "bogus"})

    assert response.status_code == 302
    assert response.url == f"{HISTORY}?status=bogus"


# --- Detail -------------------------------------------------------------------------------

def test_it_shows_a_number_with_its_inputs_charts_boxes_timings_and_model_version(owner, number_png,
                                                                                  finished_prediction, owner_client):
    prediction = finished_prediction(owner, number_png[0], mode="number")

    response = owner_client.get(reverse("recognition:detail", args=[prediction.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    count = len(number_png[1])
    assert f'data-testid="detail-answer">{number_png[1]}<' in html
    assert html.count('data-testid="digit-card"') == count
    assert html.count('data-testid="prob-bar"') == 10 * count
    for index, digit in enumerate(prediction.digits):
        assert f'src="/predictions/{prediction.pk}/input/{index}.png"' in html
        assert f'data-box="{",".join(str(v) for v in digit["box"])}"' in html
    assert f'<img src="/predictions/{prediction.pk}/image"' in html
    assert prediction.model_version in html
    assert html.count("(took ") == 1 and html.count("(waited ") == 1
    assert 'data-status="done"' in html


def test_it_explains_a_failed_prediction_in_words(owner, blank_png, finished_prediction, owner_client):
    prediction = finished_prediction(owner, blank_png)

    html = owner_client.get(reverse("recognition:detail", args=[prediction.pk])).content.decode()

    assert f'data-testid="detail-error">{runs.NO_DIGIT_MESSAGE}<' in html
    assert "Traceback" not in html and 'data-testid="feedback-correct"' not in html


def test_it_marks_a_pending_prediction_for_the_page_to_poll(owner, digit_png, owner_client):
    prediction = _pending(owner, digit_png[0])

    html = owner_client.get(reverse("recognition:detail", args=[prediction.pk])).content.decode()

    assert 'data-status="pending"' in html and 'data-testid="detail-pending"' in html
    assert f'data-id="{prediction.pk}"' in html
    assert '<script type="module" src="/static/recognition/detail.js">' in html
    assert 'data-testid="feedback-form"' not in html


# --- Feedback -----------------------------------------------------------------------------

def test_it_records_correct_as_the_answer(owner, digit_png, finished_prediction, owner_client):
    prediction = finished_prediction(owner, digit_png[0])
    detail = owner_client.get(reverse("recognition:detail", args=[prediction.pk])).content.decode()
    correct = re.search(r'<input type="hidden" name="label" value="(\d+)">', detail)[1]

    response = owner_client.post(reverse("recognition:feedback", args=[prediction.pk]), {"label": correct})

    assert response.status_code == 302
    assert response.url == reverse("recognition:detail", args=[prediction.pk])
    prediction.refresh_from_db()
    assert prediction.feedback_label == digit_png[1] and prediction.feedback_at is not None


def test_it_records_the_right_answer_the_owner_gives(owner, number_png, finished_prediction, owner_client):
    prediction = finished_prediction(owner, number_png[0], mode="number")

    response = owner_client.post(reverse("recognition:feedback", args=[prediction.pk]), {"label": " 4021 "},
                                 follow=True)

    assert response.status_code == 200
    assert "recorded 4021 as the right answer" in response.content.decode()
    prediction.refresh_from_db()
    assert prediction.feedback_label == "4021"


@pytest.mark.parametrize("label, message", [
    ("12", "This prediction is a single digit: give one digit, 0-9."),
    ("seven", "The label must be digits only (0-9)."),
    ("", "This field is required."),
])
def test_it_shows_feedback_errors_on_the_page_and_keeps_the_old_label(owner, digit_png, label, message,
                                                                      finished_prediction, owner_client):
    prediction = finished_prediction(owner, digit_png[0])
    services.prediction_give_feedback(prediction=prediction, label="3")

    response = owner_client.post(reverse("recognition:feedback", args=[prediction.pk]), {"label": label})

    assert response.status_code == 200
    assert f'<div class="invalid-feedback d-block" data-testid="error-label">{message}</div>' in \
        response.content.decode()
    prediction.refresh_from_db()
    assert prediction.feedback_label == "3"


# --- Delete -------------------------------------------------------------------------------

def test_it_deletes_my_prediction_and_returns_to_history_with_a_message(owner, digit_png, finished_prediction,
                                                                        owner_client):
    prediction = finished_prediction(owner, digit_png[0])

    response = owner_client.post(reverse("recognition:delete", args=[prediction.pk]), follow=True)

    assert response.redirect_chain == [(HISTORY, 302)]
    assert "The prediction and its image were deleted." in response.content.decode()
    assert not Prediction.objects.filter(pk=prediction.pk).exists()


def test_it_refuses_a_delete_without_the_csrf_token_and_accepts_one_with_it(owner, digit_png, finished_prediction):
    prediction = finished_prediction(owner, digit_png[0])
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    detail = client.get(reverse("recognition:detail", args=[prediction.pk])).content.decode()
    delete_form = re.search(r'<form method="post" action="/history/[^"]+/delete".*?</form>', detail, re.S)[0]
    token = re.search(r'name="csrfmiddlewaretoken" value="([\w-]+)"', delete_form)[1]

    refused = client.post(reverse("recognition:delete", args=[prediction.pk]))
    assert refused.status_code == 403
    assert Prediction.objects.filter(pk=prediction.pk).exists()

    accepted = client.post(reverse("recognition:delete", args=[prediction.pk]), {"csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    assert not Prediction.objects.filter(pk=prediction.pk).exists()


def test_the_detail_page_prints_each_probability_under_its_bar(owner, owner_client, digit_png, finished_prediction):
    prediction = finished_prediction(owner, digit_png[0])

    html = owner_client.get(reverse("recognition:detail", args=[prediction.pk])).content.decode()

    values = re.findall(r'data-testid="prob-value">([^<]*)<', html)
    assert len(values) == 10 and values[int(digit_png[1])] in ("100", "99", "98", "97")


def test_the_history_shows_a_page_line_under_line_and_filters_by_page_mode(owner, page_png, digit_png,
                                                                         finished_prediction, owner_client):
    page = finished_prediction(owner, page_png[0], mode="page")
    finished_prediction(owner, digit_png[0])

    response = owner_client.get(HISTORY, {"mode": "page"})

    assert _row_ids(response) == [str(page.pk)]
    assert "<br>".join(page_png[1]) in response.content.decode()
