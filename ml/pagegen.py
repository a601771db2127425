"""Labelled pages of several lines of handwritten digits, for measuring page mode.

Each page has 2-5 lines of 1-8 MNIST *test* digits (some in the styles of ml/styles.py),
as people write a list: every line at its own indent, height and slope (up to 4 degrees),
the whole page turned a few degrees, then drawn on a canvas or photographed (paper tone,
uneven light, noise, blur, JPEG) as the other evaluation sets are (synthetic.capture).
A page's label is its lines' digits, top to bottom, separated by spaces.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from ml import styles, synthetic

MAX_LINE_SLOPE = 4.0  # degrees, each line on its own
MAX_PAGE_ROTATION = 5.0  # degrees, the whole page
STYLE_SHARE = 0.15  # of the digits, drawn in one of the under-represented styles


def _rotated(alpha: np.ndarray, degrees: float) -> np.ndarray:
    image = Image.fromarray(alpha, mode="F").rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True)
    return np.clip(np.asarray(image, np.float32), 0.0, 1.0)


def _digit_ink(x: np.ndarray, y: np.ndarray, index: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One digit's ink (coverage 0-1) and label: the MNIST digit, or now and then a style's."""
    if rng.random() < STYLE_SHARE:
        style = styles.STYLES[int(rng.integers(len(styles.STYLES)))]
        drawn = styles.style_ink(style, x, y, rng)
        return synthetic.coverage(drawn.ink), drawn.label
    return synthetic.coverage(x[index]), int(y[index])


def _line(x: np.ndarray, y: np.ndarray, picks: np.ndarray, height: int,
          rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """One line of digits, written side by side (not touching), then sloped."""
    inks = [_digit_ink(x, y, int(i), rng) for i in picks]
    pieces = [synthetic._scaled(ink, max(12, int(height * rng.uniform(0.85, 1.1))), rng) for ink, _ in inks]
    gaps = [int(height * rng.uniform(0.12, 0.5)) for _ in range(len(pieces) - 1)]
    width = sum(p.shape[1] for p in pieces) + sum(gaps)
    strip = np.zeros((int(max(p.shape[0] for p in pieces) * 1.3), width), np.float32)
    left = 0
    for k, piece in enumerate(pieces):
        top = int(rng.integers(0, strip.shape[0] - piece.shape[0] + 1))
        window = strip[top : top + piece.shape[0], left : left + piece.shape[1]]
        np.maximum(window, piece, out=window)
        left += piece.shape[1] + (gaps[k] if k < len(gaps) else 0)
    label = "".join(str(digit) for _, digit in inks)
    return _rotated(strip, float(rng.uniform(-MAX_LINE_SLOPE, MAX_LINE_SLOPE))), label


def render_page(x: np.ndarray, y: np.ndarray, rng: np.random.Generator,
                lines: tuple[int, int] = (2, 5), digits: tuple[int, int] = (1, 8)) -> tuple[bytes, str, str]:
    """One page: (encoded image, label, extension)."""
    count = int(rng.integers(lines[0], lines[1] + 1))
    base = int(rng.integers(28, 80))  # the page's digit height, in pixels
    strips, labels = [], []
    for _ in range(count):
        n = int(rng.integers(digits[0], digits[1] + 1))
        height = max(20, int(base * rng.uniform(0.8, 1.25)))  # lines differ in height
        strip, label = _line(x, y, rng.choice(len(x), size=n, replace=False), height, rng)
        strips.append(strip)
        labels.append(label)
    margin = int(base * rng.uniform(0.5, 1.5))
    widest = max(s.shape[1] for s in strips)
    width = int(widest * rng.uniform(1.05, 1.6)) + 2 * margin
    # Lines go down the page one under the other; the next starts 0.2-1 digit height under
    # the lowest ink of the one before (its own slope decides where that is).
    placed, top = [], margin
    for strip in strips:
        indent = margin + int(rng.integers(0, max(1, width - 2 * margin - strip.shape[1])))
        placed.append((top, indent, strip))
        top += strip.shape[0] + int(base * rng.uniform(0.2, 1.0))
    alpha = np.zeros((top + margin, width), np.float32)
    for row, column, strip in placed:
        window = alpha[row : row + strip.shape[0], column : column + strip.shape[1]]
        np.maximum(window, strip, out=window)
    alpha = _rotated(alpha, float(rng.uniform(-MAX_PAGE_ROTATION, MAX_PAGE_ROTATION)))
    data, extension = synthetic.capture(alpha, rng)
    return data, " ".join(labels), extension


def digit_pages(x: np.ndarray, y: np.ndarray, count: int, seed: int = 0) -> list[synthetic.Sample]:
    """``count`` pages of 2-5 lines of 1-8 digits each."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(count):
        data, label, extension = render_page(x, y, rng)
        samples.append(synthetic.Sample(data, label, extension))
    return samples
