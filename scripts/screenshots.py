"""Refresh docs/screenshots/ from a running server (`make run`), in Debian's chromium: the
pages at 1280 px and on a 390 px phone with touch, in English, then home, draw and history
in Tamil and Hindi (files ending -ta and -hi; the browser asks for the language as a person's
browser would). Needs a staff user with a password, and the Noto fonts for Tamil and
Devanagari (Debian: fonts-noto-core).

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000 USER PASSWORD [LANGUAGE ...]
"""
from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
SEVEN = [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]]
# 2, 0, 2, 5 as fractions of the number canvas.
NUMBER = [
    [(0.05, 0.3), (0.12, 0.18), (0.19, 0.3), (0.06, 0.8), (0.2, 0.8)],
    [(0.36, 0.2), (0.29, 0.5), (0.36, 0.8), (0.43, 0.5), (0.36, 0.2)],
    [(0.53, 0.3), (0.6, 0.18), (0.67, 0.3), (0.54, 0.8), (0.68, 0.8)],
    [(0.92, 0.2), (0.8, 0.2), (0.79, 0.47), (0.9, 0.45), (0.93, 0.62), (0.87, 0.8), (0.78, 0.75)],
]


def _draw(page: Page, strokes, testid: str, touch: bool) -> None:
    box = page.get_by_test_id(testid).bounding_box()
    cdp = page.context.new_cdp_session(page) if touch else None
    for stroke in strokes:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        if touch:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [dict(zip("xy", points[0]))]})
            for (x0, y0), (x1, y1) in zip(points, points[1:]):
                for i in range(1, 9):
                    point = {"x": x0 + (x1 - x0) * i / 8, "y": y0 + (y1 - y0) * i / 8}
                    cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        else:
            page.mouse.move(*points[0])
            page.mouse.down()
            for point in points[1:]:
                page.mouse.move(*point, steps=8)
            page.mouse.up()


def _shoot(page: Page, name: str, language: str = "en") -> None:
    page.wait_for_timeout(400)
    path = OUT / (f"{name}.png" if language == "en" else f"{name}-{language}.png")
    page.screenshot(path=path, full_page=True)
    print("wrote", path)


def _log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/?next=/draw/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(f"{base}/draw/")


def shoot(base: str, username: str, password: str, device: dict, suffix: str, touch: bool,
          language: str = "en") -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_context(locale=language, **device).new_page()
        page.goto(f"{base}/")
        _draw(page, SEVEN, "try-canvas", touch)
        expect(page.get_by_test_id("try-result").get_by_test_id("result-digit")).to_have_text("7")
        _shoot(page, f"home-{suffix}", language)

        _log_in(page, base, username, password)
        _draw(page, SEVEN, "draw-canvas", touch)
        expect(page.get_by_test_id("result-note")).to_be_visible()
        _shoot(page, f"draw-{suffix}", language)
        page.get_by_test_id("recognize").click()
        expect(page.get_by_test_id("result-detail-link")).to_be_visible()

        page.get_by_test_id("clear").click()
        page.locator("label[for=mode-number]").click()
        _draw(page, NUMBER, "draw-canvas", touch)
        expect(page.get_by_test_id("result-note")).to_be_visible()
        _shoot(page, f"draw-number-{suffix}", language)
        page.get_by_test_id("recognize").click()
        expect(page.get_by_test_id("result-detail-link")).to_be_visible()
        page.goto(f"{base}/history/")
        _shoot(page, f"history-{suffix}", language)
        if suffix == "desktop" and language == "en":
            page.get_by_test_id("history-row").first.locator("a").first.click()
            page.wait_for_load_state()
            _shoot(page, "detail-desktop")
            page.goto(f"{base}/upload/")
            _shoot(page, "upload-desktop")
            page.goto(f"{base}/api/v1/docs/")
            expect(page.get_by_test_id("docs-token-status")).to_contain_text("filled in")
            page.screenshot(path=OUT / "api-docs-desktop.png")
            page.goto(f"{base}/admin/recognition/prediction/")
            _shoot(page, "admin-predictions-desktop")
        browser.close()


if __name__ == "__main__":
    base, username, password = sys.argv[1:4]
    for language in sys.argv[4:] or ["en", "ta", "hi"]:
        shoot(base, username, password, {"viewport": {"width": 1280, "height": 900}}, "desktop", touch=False,
              language=language)
        shoot(base, username, password, {"viewport": {"width": 390, "height": 844}, "is_mobile": True,
                                         "has_touch": True, "device_scale_factor": 2}, "phone", touch=True,
              language=language)
