"""End to end in a real browser: log in through the login form, draw with the mouse, upload
files, and read the results and the history, against a live server that runs inference in
its own process (no broker), as `make run` does.

Playwright drives Debian's chromium (/usr/bin/chromium): its own browser download needs
the internet. `make test` installs chromium when it is missing.
"""
import re

import pytest
from playwright.sync_api import Page, expect

from recognition.models import Prediction
from tests.images import encode, line_of, place, with_star
from tests.recognition.browser import (  # noqa: F401 - in_process_inference, page, phone, user are fixtures
    RESULT_TIMEOUT_MS, SEVEN, SEVENTEEN, draw, in_process_inference, log_in_at, page, phone, user)

pytestmark = pytest.mark.django_db(transaction=True)


def _choose_number_mode(page: Page) -> None:
    # The radio button is styled as a button: people (and so the test) click its label.
    page.locator("label[for=mode-number]").click()
    expect(page.get_by_test_id("mode-number")).to_be_checked()


def _mnist_png(mnist_test, index: int) -> tuple[bytes, str]:
    x, y = mnist_test
    return encode(place(x[index])), str(y[index])


def _expect_a_result(result, answer: str, digits: int) -> None:
    expect(result.get_by_test_id("result-digit")).to_have_text(answer, timeout=RESULT_TIMEOUT_MS)
    expect(result.get_by_test_id("result-confidence")).to_have_text(re.compile(r"^\d{1,3}\.\d%$"))
    expect(result.get_by_test_id("prob-bar")).to_have_count(10 * digits)
    expect(result.locator("img.model-input")).to_have_count(digits)
    # The 28x28 input the model saw, served 4x enlarged, really loads.
    for image in result.locator("img.model-input").all():
        expect(image).to_have_js_property("naturalWidth", 112)


def test_it_recognises_a_seven_drawn_with_the_mouse(live_server, page, user, password):
    log_in_at(page, f"{live_server.url}/draw/", user, password)

    draw(page, SEVEN)
    page.get_by_test_id("recognize").click()

    result = page.get_by_test_id("result-area")
    _expect_a_result(result, "7", digits=1)
    prediction = Prediction.objects.get(owner=user)
    assert (prediction.source, prediction.mode, prediction.answer) == ("draw", "digit", "7")
    expect(result.get_by_test_id("result-detail-link")).to_have_attribute("href", f"/history/{prediction.pk}/")


def test_it_reads_a_number_drawn_in_number_mode_on_a_wider_canvas(live_server, page, user, password):
    log_in_at(page, f"{live_server.url}/draw/", user, password)
    square = page.get_by_test_id("draw-canvas").bounding_box()

    _choose_number_mode(page)
    wide = page.get_by_test_id("draw-canvas").bounding_box()
    draw(page, SEVENTEEN)
    page.get_by_test_id("recognize").click()

    assert wide["width"] == pytest.approx(3 * square["width"], rel=0.02)
    assert wide["height"] == pytest.approx(square["height"], rel=0.02)
    _expect_a_result(page.get_by_test_id("result-area"), "17", digits=2)
    prediction = Prediction.objects.get(owner=user)
    assert (prediction.source, prediction.mode, prediction.answer) == ("draw", "number", "17")


def test_it_recognises_two_files_uploaded_at_once(live_server, page, user, password, mnist_test):
    first, second = _mnist_png(mnist_test, 0), _mnist_png(mnist_test, 1)
    log_in_at(page, f"{live_server.url}/upload/", user, password)

    page.get_by_test_id("upload-input").set_input_files([
        {"name": "first.png", "mimeType": "image/png", "buffer": first[0]},
        {"name": "second.png", "mimeType": "image/png", "buffer": second[0]},
    ])

    items = page.get_by_test_id("upload-item")
    expect(items).to_have_count(2)
    expect(items.nth(0).get_by_test_id("upload-name")).to_have_text("first.png")
    expect(items.nth(1).get_by_test_id("upload-name")).to_have_text("second.png")
    _expect_a_result(items.nth(0), first[1], digits=1)
    _expect_a_result(items.nth(1), second[1], digits=1)
    rows = Prediction.objects.filter(owner=user).order_by("image_name")
    assert [(p.image_name, p.source, p.answer) for p in rows] == [
        ("first.png", "upload", first[1]), ("second.png", "upload", second[1])]


def test_on_a_phone_the_camera_has_its_own_button_and_the_picker_keeps_the_gallery(
        live_server, phone, user, password, mnist_test):
    # `capture` on the multiple-file input would make a phone open the camera only.
    photo = _mnist_png(mnist_test, 2)
    log_in_at(phone, f"{live_server.url}/upload/", user, password)
    assert phone.get_by_test_id("upload-input").get_attribute("capture") is None
    expect(phone.get_by_text("Take a photo")).to_be_visible()
    phone.get_by_test_id("camera-input").set_input_files(
        [{"name": "photo.png", "mimeType": "image/png", "buffer": photo[0]}])
    expect(phone.get_by_test_id("result-digit")).to_have_text(photo[1], timeout=RESULT_TIMEOUT_MS)


def test_with_a_mouse_there_is_no_camera_button_and_the_history_filters_are_open(
        live_server, page, user, password):
    log_in_at(page, f"{live_server.url}/upload/", user, password)
    expect(page.get_by_text("Take a photo")).to_be_hidden()
    page.goto(f"{live_server.url}/history/")
    expect(page.get_by_test_id("filter-form")).to_be_visible()
    expect(page.get_by_test_id("filter-toggle")).to_be_hidden()


def test_on_a_phone_the_history_filters_fold_away_until_asked_for_or_set(live_server, phone, user, password):
    log_in_at(phone, f"{live_server.url}/history/", user, password)
    form = phone.get_by_test_id("filter-form")
    expect(form).to_be_hidden()
    phone.get_by_test_id("filter-toggle").click()
    expect(form).to_be_visible()
    phone.select_option("#id_status", "done")
    # Wait for the page the submit loads (the click can come while the collapse still slides).
    with phone.expect_navigation(url=re.compile(r"status=done")):
        phone.get_by_test_id("filter-submit").click()
    expect(phone).to_have_url(re.compile(r"status=done"))
    expect(form).to_be_visible()  # filters in use stay in sight


def test_it_lists_what_was_drawn_and_uploaded_in_the_history(live_server, page, user, password, mnist_test):
    upload = _mnist_png(mnist_test, 1)
    log_in_at(page, f"{live_server.url}/draw/", user, password)
    draw(page, SEVEN)
    page.get_by_test_id("recognize").click()
    expect(page.get_by_test_id("result-digit")).to_have_text("7", timeout=RESULT_TIMEOUT_MS)
    page.get_by_test_id("nav-upload").click()
    page.wait_for_load_state()
    page.get_by_test_id("upload-input").set_input_files(
        [{"name": "upload.png", "mimeType": "image/png", "buffer": upload[0]}])
    expect(page.get_by_test_id("result-digit")).to_have_text(upload[1], timeout=RESULT_TIMEOUT_MS)

    page.get_by_test_id("nav-history").click()

    rows = page.get_by_test_id("history-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(upload[1])
    expect(rows.nth(0)).to_contain_text("Uploaded")
    expect(rows.nth(1)).to_contain_text("7")
    expect(rows.nth(1)).to_contain_text("Drawn")
    for row in rows.all():
        expect(row).to_contain_text("Done")
        expect(row).to_contain_text(re.compile(r"\d{1,3}\.\d%"))
        expect(row.locator("img.history-thumb")).not_to_have_js_property("naturalWidth", 0)
    expected_ids = [str(p.pk) for p in Prediction.objects.filter(owner=user).order_by("-created_at")]
    assert [row.get_attribute("data-id") for row in rows.all()] == expected_ids


# --- Trustworthy answers (issue 15) ----------------------------------------------------------

def test_a_not_sure_answer_offers_its_alternatives_and_a_tap_records_one(
        live_server, page, user, password, not_sure_png, serving_not_sure_model):
    png, (answer, second) = not_sure_png
    log_in_at(page, f"{live_server.url}/upload/", user, password)

    page.get_by_test_id("upload-input").set_input_files(
        [{"name": "blend.png", "mimeType": "image/png", "buffer": png}])

    result = page.get_by_test_id("upload-item").nth(0)
    expect(result.get_by_test_id("result-digit")).to_have_text(str(answer), timeout=RESULT_TIMEOUT_MS)
    expect(result.get_by_test_id("not-sure-text")).to_have_text(re.compile(rf"^Not sure: {answer}, {second}( or \d)?\?$"
                                                                           rf"|^Not sure: {answer} or {second}\?$"))
    choices = result.get_by_test_id("not-sure-choice")
    expect(choices.nth(0)).to_have_text(str(answer))
    expect(choices.nth(1)).to_have_text(str(second))

    choices.nth(1).click()

    expect(result.get_by_test_id("not-sure-status")).to_have_text(f"Thank you: recorded {second} as the right answer.")
    prediction = Prediction.objects.get(owner=user)
    assert prediction.not_sure and prediction.feedback_label == str(second)


def test_a_sure_answer_shows_no_alternatives(live_server, page, user, password, mnist_test, serving_not_sure_model):
    png, label = _mnist_png(mnist_test, 0)
    log_in_at(page, f"{live_server.url}/upload/", user, password)
    page.get_by_test_id("upload-input").set_input_files([{"name": "a.png", "mimeType": "image/png", "buffer": png}])
    expect(page.get_by_test_id("result-digit")).to_have_text(label, timeout=RESULT_TIMEOUT_MS)
    expect(page.get_by_test_id("not-sure")).to_have_count(0)
    expect(page.get_by_test_id("hint")).to_have_count(0)


def test_a_number_drawn_in_single_digit_mode_is_offered_as_a_number_and_read_as_one(
        live_server, page, user, password):
    log_in_at(page, f"{live_server.url}/draw/", user, password)
    draw(page, SEVENTEEN)  # on the square single-digit canvas
    page.get_by_test_id("recognize").click()

    result = page.get_by_test_id("result-area")
    expect(result.get_by_test_id("hint-text")).to_have_text("This looks like a number: 17", timeout=RESULT_TIMEOUT_MS)
    first = Prediction.objects.get(owner=user)
    assert (first.mode, first.number_hint) == ("digit", "17")

    result.get_by_test_id("hint-read-as-number").click()

    expect(page.get_by_test_id("mode-number")).to_be_checked()
    _expect_a_result(result, "17", digits=2)
    expect(result.get_by_test_id("hint")).to_have_count(0)
    second = Prediction.objects.filter(owner=user).exclude(pk=first.pk).get()
    assert (second.mode, second.answer) == ("number", "17")


def test_an_uploaded_number_in_single_digit_mode_is_offered_as_a_number_and_read_as_one(
        live_server, page, user, password, mnist_test):
    x, y = mnist_test
    picks = [1, 2, 3, 4, 5]
    number = "".join(str(y[i]) for i in picks)
    log_in_at(page, f"{live_server.url}/upload/", user, password)
    page.get_by_test_id("upload-input").set_input_files([{"name": "zip.png", "mimeType": "image/png",
                                                          "buffer": encode(line_of([x[i] for i in picks]))}])

    item = page.get_by_test_id("upload-item").nth(0)
    expect(item.get_by_test_id("hint-text")).to_have_text(f"This looks like a number: {number}",
                                                          timeout=RESULT_TIMEOUT_MS)
    item.get_by_test_id("hint-read-as-number").click()

    _expect_a_result(item, number, digits=len(picks))
    expect(page.get_by_test_id("mode-number")).to_be_checked()
    assert sorted(Prediction.objects.filter(owner=user).values_list("mode", flat=True)) == ["digit", "number"]


def test_a_mark_that_may_be_no_digit_is_marked_on_its_box_and_its_card(
        live_server, page, user, password, settings, doubtful_number):
    model_dir, png, number, doubtful = doubtful_number
    settings.ML_MODEL_DIR = model_dir
    log_in_at(page, f"{live_server.url}/upload/", user, password)
    _choose_number_mode(page)
    page.get_by_test_id("upload-input").set_input_files([{"name": "two.png", "mimeType": "image/png",
                                                          "buffer": png}])

    item = page.get_by_test_id("upload-item").nth(0)
    expect(item.get_by_test_id("result-digit")).to_have_text(number, timeout=RESULT_TIMEOUT_MS)
    expect(item.get_by_test_id("digit-doubtful")).to_have_count(1)
    expect(item.get_by_test_id("digit-card").nth(doubtful).get_by_test_id("digit-doubtful")).to_have_text(
        "Maybe not a digit: check it")
    expect(item.locator(".digit-box.doubtful .digit-box-label")).to_have_text(f"{number[doubtful]}?")
    assert Prediction.objects.get(owner=user).not_sure


def test_a_mark_that_is_no_digit_is_left_out_and_boxed_on_the_result_and_its_page(
        live_server, page, user, password, mnist_test):
    x, y = mnist_test
    png = encode(with_star(line_of([x[1], x[2]])))
    log_in_at(page, f"{live_server.url}/upload/", user, password)
    _choose_number_mode(page)
    page.get_by_test_id("upload-input").set_input_files([{"name": "21-star.png", "mimeType": "image/png",
                                                          "buffer": png}])

    item = page.get_by_test_id("upload-item").nth(0)
    _expect_a_result(item, f"{y[1]}{y[2]}", digits=2)
    prediction = Prediction.objects.get(owner=user)
    assert len(prediction.left_out) == 1
    _expect_a_left_out_box(item.get_by_test_id("left-out-box"), prediction.left_out[0])

    item.get_by_test_id("result-detail-link").click()
    _expect_a_left_out_box(page.get_by_test_id("left-out-box"), prediction.left_out[0])


def _expect_a_left_out_box(box, where: list[int]) -> None:
    expect(box).to_be_visible()
    expect(box).to_have_attribute("data-box", ",".join(map(str, where)))
    expect(box).to_have_attribute("title", "Not a digit: left out")


def test_it_reads_an_uploaded_page_line_by_line_and_shows_each_lines_box(live_server, page, user, password, page_png):
    png, labels = page_png
    log_in_at(page, f"{live_server.url}/upload/", user, password)
    page.locator("label[for=mode-page]").click()

    page.get_by_test_id("upload-input").set_input_files([{"name": "page.png", "mimeType": "image/png", "buffer": png}])

    item = page.get_by_test_id("upload-item")
    expect(item.get_by_test_id("result-line-number")).to_have_text(labels, timeout=RESULT_TIMEOUT_MS)
    expect(item.get_by_test_id("result-line-box")).to_have_count(len(labels))
    prediction = Prediction.objects.get(owner=user)
    assert (prediction.mode, prediction.answer) == ("page", "\n".join(labels))

    item.get_by_test_id("result-detail-link").click()
    expect(page.get_by_test_id("detail-line-number")).to_have_text(labels)
    boxes = page.get_by_test_id("line-box")
    expect(boxes).to_have_count(len(labels))
    colours = {boxes.nth(i).evaluate("node => getComputedStyle(node).borderTopColor") for i in range(len(labels))}
    assert len(colours) == len(labels)  # one colour per line


# Two numbers, one under the other, as fractions of the page canvas: "17" and "71".
PAGE_STROKES = [[(0.1, 0.1), (0.1, 0.25)], [(0.18, 0.11), (0.3, 0.11), (0.22, 0.25)],
                [(0.2, 0.5), (0.32, 0.5), (0.24, 0.64)], [(0.42, 0.49), (0.42, 0.64)]]


def test_it_reads_numbers_drawn_one_under_another_on_the_page_canvas(live_server, page, user, password):
    log_in_at(page, f"{live_server.url}/draw/", user, password)
    page.locator("label[for=mode-page]").click()
    canvas = page.get_by_test_id("draw-canvas").bounding_box()
    assert canvas["height"] > canvas["width"]  # a page, taller than wide

    draw(page, PAGE_STROKES)
    page.get_by_test_id("recognize").click()

    result = page.get_by_test_id("result-area")
    expect(result.get_by_test_id("result-line-number")).to_have_text(["17", "71"], timeout=RESULT_TIMEOUT_MS)
    prediction = Prediction.objects.get(owner=user)
    assert (prediction.source, prediction.mode, prediction.answer) == ("draw", "page", "17\n71")
