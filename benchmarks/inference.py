"""Inference engine benchmark: images/s by batch size, and preprocessing cost per image.

    .venv/bin/python -m benchmarks.inference [--model DIR] [--seconds 3]

Prints medians of repeated timed runs (our machines are shared and noisy). The canvas
case is what the draw page sends (a 280x280 RGBA PNG with a transparent background);
the photo case is a 640x480 JPEG of a digit on paper with noise. Page mode's cost is set
beside a line's: a photographed line of six digits read in number mode, and a photographed
page of five such lines (1200x900 JPEG) read in page mode.
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from ml import preprocessing  # noqa: E402
from ml.artifact import newest  # noqa: E402
from ml.inference import Engine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _median_rate(fn, items: int, seconds: float) -> float:
    """Items per second: the median over repeated runs filling about ``seconds``."""
    fn()  # warm-up
    rates, deadline = [], time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rates) < 5:
        start = time.perf_counter()
        fn()
        rates.append(items / (time.perf_counter() - start))
    return statistics.median(rates)


def canvas_png() -> bytes:
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.line([(80, 60), (200, 60), (120, 230)], fill=(0, 0, 0, 255), width=18, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def photo_jpeg() -> bytes:
    rng = np.random.default_rng(0)
    sheet = np.full((480, 640), 225.0) + rng.normal(0, 8, (480, 640))
    image = Image.fromarray(np.clip(sheet, 0, 255).astype(np.uint8))
    ImageDraw.Draw(image).line([(250, 120), (390, 120), (300, 360)], fill=30, width=14)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _photo(width: int, height: int, lines: int, digits: int = 6) -> bytes:
    """A JPEG of ``lines`` lines of ``digits`` block 7s and 1s on noisy paper."""
    rng = np.random.default_rng(1)
    sheet = np.full((height, width), 225.0) + rng.normal(0, 8, (height, width))
    image = Image.fromarray(np.clip(sheet, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    size, step = 90, height // (lines + 1)
    for row in range(lines):
        top = step // 2 + row * step + (step - size) // 2
        for k in range(digits):
            left = 60 + row * 15 + k * 105
            if k % 2:
                draw.line([(left + 30, top), (left + 30, top + size)], fill=30, width=9)
            else:
                draw.line([(left, top), (left + 60, top), (left + 20, top + size)], fill=30, width=9)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="an artifact folder (default: the newest shipped one)")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()

    engine = Engine(args.model or newest(ROOT / "ml" / "artifacts"))
    print(f"model {engine.version} on {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs; medians of runs over {args.seconds:.0f} s each")
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (256, 28, 28), dtype=np.uint8)
    for batch in (1, 32, 256):
        rate = _median_rate(lambda: engine.probabilities(pixels[:batch]), batch, args.seconds)
        print(f"model, batch {batch:>3}: {rate:>9,.0f} images/s  ({1000 * batch / rate:.3f} ms per call)")
    for name, payload in (("canvas 280x280 PNG", canvas_png()), ("photo 640x480 JPEG", photo_jpeg())):
        rate = _median_rate(lambda: preprocessing.to_model_input(payload), 1, args.seconds)
        print(f"preprocessing, {name}: {1000 / rate:.2f} ms per image")
    payload = canvas_png()
    rate = _median_rate(lambda: engine.recognize(payload), 1, args.seconds)
    print(f"end to end (decode, preprocess, model), canvas: {1000 / rate:.2f} ms per image")
    line, page = _photo(760, 200, 1), _photo(1200, 900, 5)
    assert engine.recognize(line, mode="number").text == "717171"
    assert engine.recognize(page, mode="page").text == "\n".join(["717171"] * 5)
    line_ms = 1000 / _median_rate(lambda: engine.recognize(line, mode="number"), 1, args.seconds)
    page_ms = 1000 / _median_rate(lambda: engine.recognize(page, mode="page"), 1, args.seconds)
    print(f"end to end, a line of 6 digits (760x200 JPEG, number mode): {line_ms:.1f} ms")
    print(f"end to end, a page of 5 such lines (1200x900 JPEG, page mode): {page_ms:.1f} ms, "
          f"{page_ms / line_ms:.1f}x a line ({page_ms / line_ms / 5:.2f}x per line)")


if __name__ == "__main__":
    main()
