"""Live answers in a real browser: the home page's try-it canvas for visitors, the draw
page's answer as you draw (nothing stored until Recognize), an answer that follows the
canvas, and the canvas on a phone with touch."""
import re

import pytest
from playwright.sync_api import Page, expect

from recognition.models import Prediction
from tests.recognition.browser import (  # noqa: F401 - in_process_inference, page, phone, user are fixtures
    RESULT_TIMEOUT_MS, SEVEN, SEVENTEEN, draw, in_process_inference, log_in_at, page, phone, user)

pytestmark = pytest.mark.django_db(transaction=True)

# A stroke far to the right of a number canvas: outside the square of single-digit mode.
FAR_RIGHT = [[(0.8, 0.2), (0.8, 0.8)]]


def _touch_draw(page: Page, strokes, testid: str = "draw-canvas") -> None:
    """Draw with a finger: touch events through the DevTools protocol, as a phone sends them."""
    box = page.get_by_test_id(testid).bounding_box()
    cdp = page.context.new_cdp_session(page)
    for stroke in strokes:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": points[0][0], "y": points[0][1]}]})
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            for step in range(1, 11):
                x, y = x0 + (x1 - x0) * step / 10, y0 + (y1 - y0) * step / 10
                cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_an_anonymous_visitor_sees_a_live_answer_on_the_home_page(live_server, page):
    page.goto(live_server.url + "/")
    page.wait_for_load_state()

    draw(page, SEVEN, testid="try-canvas")

    result = page.get_by_test_id("try-result")
    expect(result.get_by_test_id("result-digit")).to_have_text("7", timeout=RESULT_TIMEOUT_MS)
    expect(page.get_by_test_id("try-register")).to_be_visible()
    assert Prediction.objects.count() == 0
    page.get_by_test_id("try-clear").click()
    expect(result.get_by_test_id("result-digit")).to_have_count(0)


def test_a_signed_in_user_gets_the_draw_page_link_not_the_try_canvas(live_server, page, user, password):
    log_in_at(page, f"{live_server.url}/draw/", user, password)
    page.goto(live_server.url + "/")
    expect(page.get_by_test_id("cta-draw")).to_be_visible()
    expect(page.get_by_test_id("try-canvas")).to_have_count(0)


def test_live_answers_show_as_you_draw_and_store_nothing(live_server, page, user, password):
    log_in_at(page, f"{live_server.url}/draw/", user, password)

    draw(page, SEVEN)

    result = page.get_by_test_id("result-area")
    expect(result.get_by_test_id("result-digit")).to_have_text("7", timeout=RESULT_TIMEOUT_MS)
    expect(result.get_by_test_id("result-note")).to_contain_text("not saved")
    expect(result.get_by_test_id("feedback-correct")).to_have_count(0)
    page.wait_for_timeout(500)  # any request still to come would have arrived
    assert Prediction.objects.filter(owner=user).count() == 0


def test_recognize_saves_exactly_one_row(live_server, page, user, password):
    log_in_at(page, f"{live_server.url}/draw/", user, password)
    draw(page, SEVEN)
    result = page.get_by_test_id("result-area")
    expect(result.get_by_test_id("result-note")).to_be_visible(timeout=RESULT_TIMEOUT_MS)

    page.get_by_test_id("recognize").click()

    expect(result.get_by_test_id("result-detail-link")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    expect(result.get_by_test_id("result-digit")).to_have_text("7")
    page.wait_for_timeout(500)
    prediction = Prediction.objects.get(owner=user)
    assert (prediction.source, prediction.answer) == ("draw", "7")


def test_clear_removes_the_answer_and_a_new_stroke_marks_it_out_of_date(live_server, page, user, password):
    log_in_at(page, f"{live_server.url}/draw/", user, password)
    draw(page, SEVEN)
    result = page.get_by_test_id("result-area")
    expect(result.get_by_test_id("result-digit")).to_have_text("7", timeout=RESULT_TIMEOUT_MS)

    draw(page, [[(0.1, 0.5), (0.2, 0.5)]])  # the answer is stale until the new one comes
    expect(result.get_by_test_id("result-digit")).to_be_visible()
    page.keyboard.press("Control+z")  # back to the 7: read again
    expect(result.get_by_test_id("result-digit")).to_have_text("7", timeout=RESULT_TIMEOUT_MS)
    expect(result.get_by_test_id("result-stale")).to_have_count(0)

    page.get_by_test_id("clear").click()

    expect(result.get_by_test_id("result-digit")).to_have_count(0)
    page.wait_for_timeout(600)  # no late answer brings it back
    expect(result.get_by_test_id("result-digit")).to_have_count(0)


def test_undo_of_the_last_stroke_marks_the_answer_and_reads_again(live_server, page, user, password):
    log_in_at(page, f"{live_server.url}/draw/", user, password)
    draw(page, SEVENTEEN[:1])
    page.locator("label[for=mode-number]").click()
    draw(page, [[(0.45, 0.15), (0.45, 0.85)]])
    result = page.get_by_test_id("result-area")
    expect(result.get_by_test_id("result-digit")).to_have_text("11", timeout=RESULT_TIMEOUT_MS)

    page.get_by_test_id("undo").click()

    expect(result.get_by_test_id("result-digit")).to_have_text("1", timeout=RESULT_TIMEOUT_MS)


def test_switching_to_single_digit_removes_strokes_it_would_hide_and_says_so(live_server, page, user, password):
    log_in_at(page, f"{live_server.url}/draw/", user, password)
    page.locator("label[for=mode-number]").click()
    draw(page, SEVENTEEN)
    draw(page, FAR_RIGHT)
    result = page.get_by_test_id("result-area")
    expect(result.get_by_test_id("result-digit")).to_have_text(re.compile(r"^17\d$"), timeout=RESULT_TIMEOUT_MS)

    page.locator("label[for=mode-digit]").click()

    expect(page.get_by_test_id("draw-status")).to_contain_text("1 stroke outside the square was removed")
    box = page.get_by_test_id("draw-canvas").bounding_box()
    assert box["width"] == pytest.approx(box["height"], rel=0.02)
    # Every stroke that still counts is in sight: undo twice leaves an empty canvas.
    page.get_by_test_id("undo").click()
    page.get_by_test_id("undo").click()
    expect(page.get_by_test_id("undo")).to_be_disabled()
    expect(result.get_by_test_id("result-digit")).to_have_count(0)


def test_on_a_phone_the_canvas_fills_the_width_and_a_finger_gets_a_live_answer(
        live_server, phone, user, password):
    log_in_at(phone, f"{live_server.url}/draw/", user, password)
    width = phone.viewport_size["width"]
    square = phone.get_by_test_id("draw-canvas").bounding_box()
    assert square["width"] >= 0.9 * width

    _touch_draw(phone, SEVEN)

    result = phone.get_by_test_id("result-area")
    expect(result.get_by_test_id("result-digit")).to_have_text("7", timeout=RESULT_TIMEOUT_MS)
    values = result.get_by_test_id("prob-value")  # printed: a phone cannot hover
    expect(values).to_have_count(10)
    expect(values.nth(7)).to_be_visible()
    expect(values.nth(7)).to_have_text(re.compile(r"^\d+$"))

    phone.get_by_test_id("clear").click()
    phone.locator("label[for=mode-number]").click()
    wide = phone.get_by_test_id("draw-canvas").bounding_box()
    assert wide["width"] >= 0.9 * width and wide["height"] >= 160
    _touch_draw(phone, SEVENTEEN)
    expect(result.get_by_test_id("result-digit")).to_have_text("17", timeout=RESULT_TIMEOUT_MS)
    assert Prediction.objects.count() == 0


def test_the_api_docs_fill_in_the_signed_in_users_token_and_link_back(live_server, page, user, password):
    from rest_framework.authtoken.models import Token

    log_in_at(page, f"{live_server.url}/draw/", user, password)
    page.goto(f"{live_server.url}/api/v1/docs/")

    expect(page.get_by_test_id("docs-token-status")).to_contain_text("your API token is filled in")
    authorized = page.evaluate("() => ui.authSelectors.authorized().toJS()")
    assert authorized["tokenAuth"]["value"] == f"Token {Token.objects.get(user=user).key}"
    page.get_by_test_id("docs-home").click()
    expect(page).to_have_url(f"{live_server.url}/")


def test_at_1280_px_the_admin_predictions_list_needs_no_sideways_scroll(
        live_server, page, staff, password, number_png, finished_prediction):
    prediction = finished_prediction(staff, number_png[0], mode="number")
    prediction.feedback_label = "99999"
    prediction.save()
    finished_prediction(staff, number_png[0], mode="number")

    page.goto(f"{live_server.url}/admin/login/?next=/admin/recognition/prediction/")
    page.fill("#id_username", staff.username)
    page.fill("#id_password", password)
    page.locator("input[type=submit]").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)

    table, frame = page.evaluate(
        "() => [document.querySelector('#result_list').scrollWidth, document.querySelector('.results').clientWidth]")
    assert table <= frame
    assert page.request.get(f"{live_server.url}/favicon.ico").ok  # followed to the icon
