"""How long a live answer takes on /draw/: from the end of a stroke (pointerup) to the
answer on the page, debounce included, in Debian's chromium against a running server
(`make run`). Prints each time and the median.

    .venv/bin/python -m benchmarks.live_answer http://127.0.0.1:8000 USER PASSWORD [RUNS]
"""
from __future__ import annotations

import statistics
import sys

from playwright.sync_api import sync_playwright

SEVEN = [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]
WATCH = """() => {
  const area = document.getElementById("result");
  window.__times = [];
  document.getElementById("draw-canvas").addEventListener("pointerup", () => { window.__up = performance.now(); }, true);
  new MutationObserver(() => {
    if (window.__up && !area.classList.contains("is-stale") && area.querySelector('[data-testid="result-digit"]')) {
      window.__times.push(performance.now() - window.__up);
      window.__up = null;
    }
  }).observe(area, { childList: true, subtree: true, attributes: true });
}"""


def main(base: str, username: str, password: str, runs: int = 20) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/accounts/login/?next=/draw/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("[data-testid=login-submit]")
        page.wait_for_url(f"{base}/draw/")
        page.evaluate(WATCH)
        box = page.get_by_test_id("draw-canvas").bounding_box()
        for run in range(runs + 1):  # the first one warms up
            if run:
                page.get_by_test_id("clear").click()
            page.wait_for_timeout(300)
            points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in SEVEN]
            page.mouse.move(*points[0])
            page.mouse.down()
            for point in points[1:]:
                page.mouse.move(*point, steps=8)
            page.mouse.up()
            for _ in range(200):  # wait_for_function would need 'unsafe-eval', which the CSP refuses
                if page.evaluate("() => window.__times.length") > run:
                    break
                page.wait_for_timeout(20)
        times = page.evaluate("() => window.__times")[1:]
        browser.close()
    print("stroke end -> answer shown (ms):", " ".join(f"{t:.0f}" for t in times))
    print(f"median {statistics.median(times):.0f} ms, min {min(times):.0f}, max {max(times):.0f}, n={len(times)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], *(int(a) for a in sys.argv[4:5]))
