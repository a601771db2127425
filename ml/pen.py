"""Strokes drawn with a pen: the shapes MNIST lacks (styles) and what is not a digit (negatives).

A shape is a list of strokes, each a polyline in a unit box (x to the right, y down). The
pen adds what a hand does: the points jitter, a stroke wobbles, the width varies along it.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

SUPERSAMPLE = 4  # drawn at 4x and box-filtered down: anti-aliased edges like a canvas


def arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float, points: int = 24) -> np.ndarray:
    """Points on an ellipse from angle ``start`` to ``stop`` (degrees; y down, so 270 is the top)."""
    t = np.radians(np.linspace(start, stop, points))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def line(*points: tuple[float, float]) -> np.ndarray:
    return np.asarray(points, dtype=np.float64)


def _densify(points: np.ndarray, step: float) -> np.ndarray:
    out = [points[0]]
    for a, b in zip(points[:-1], points[1:]):
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / step)))
        out.extend(a + (b - a) * k / n for k in range(1, n + 1))
    return np.asarray(out)


def _wobble(points: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """A slow random drift along the stroke: a hand that is unsure (a child's)."""
    if amount <= 0 or len(points) < 3:
        return points
    drift = rng.normal(0.0, 1.0, points.shape)
    drift = ndimage.gaussian_filter1d(drift, sigma=max(1.0, len(points) / 6), axis=0, mode="nearest")
    drift /= max(float(np.abs(drift).max()), 1e-6)
    return points + drift * amount


def draw(strokes: list[np.ndarray], rng: np.random.Generator, *, height: int = 96, aspect: float = 0.7,
         width: float = 0.09, jitter: float = 0.015, wobble: float = 0.0, width_spread: float = 0.3) -> np.ndarray:
    """Ink coverage (float32 0-1, cropped to the ink) of ``strokes`` drawn ``height`` px tall.

    ``width`` is the pen width as a share of the height; it varies by up to ``width_spread``
    along each stroke. ``jitter`` moves each given point, ``wobble`` bends the whole stroke.
    """
    big = height * SUPERSAMPLE
    wide = max(1, int(round(big * aspect)))
    margin = int(big * (width + 0.1))
    image = Image.new("L", (wide + 2 * margin, big + 2 * margin), 0)
    pen = ImageDraw.Draw(image)
    scale = np.array([wide, big], np.float64)
    for stroke in strokes:
        points = np.asarray(stroke, np.float64) + rng.normal(0.0, jitter, (len(stroke), 2))
        points = _densify(points, 0.03)
        points = _wobble(points, wobble, rng) * scale + margin
        phase, speed = rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 2.0)
        for k, (x, y) in enumerate(points):
            r = 0.5 * width * big * (1 + width_spread * np.sin(phase + speed * k / 6))
            pen.ellipse((x - r, y - r, x + r, y + r), fill=255)
            if k:
                px, py = points[k - 1]
                pen.line((px, py, x, y), fill=255, width=max(1, int(2 * r)))
    small = image.resize((image.width // SUPERSAMPLE, image.height // SUPERSAMPLE), Image.Resampling.BOX)
    alpha = np.asarray(small, np.float32) / 255.0
    rows, cols = np.flatnonzero(alpha.max(axis=1) > 0.1), np.flatnonzero(alpha.max(axis=0) > 0.1)
    if rows.size == 0:
        return alpha
    return alpha[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
