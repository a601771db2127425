"""Handwriting styles MNIST under-represents, for training and for the style set.

Some are MNIST digits transformed (thick marker, thin tall 0s and 6s, low-resolution
blurry scans, children's wobbly large digits); the shapes MNIST hardly has at all are
drawn with a pen (ml/pen.py): a 1 with a long flag and a base, a crossed 7, an open 4,
a 9 with a straight stem, and thin tall 0s and 6s. Every style image is then drawn or
photographed like the realistic single digits (synthetic.render_ink).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from ml import pen, synthetic

STYLES = ("one_flag_base", "seven_crossed", "four_open", "nine_straight", "tall_zero_six",
          "thick_marker", "lowres_scan", "children")


@dataclass(frozen=True)
class StyleInk:
    ink: np.ndarray  # coverage 0-1
    label: int
    height_share: tuple[float, float] = (0.0, 0.9)
    max_rotation: float = 10.0


def _u(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def _pen_width(rng: np.random.Generator) -> float:
    return _u(rng, 0.05, 0.13)


def _one_flag_base(rng: np.random.Generator) -> np.ndarray:
    stem_x, slant = _u(rng, 0.55, 0.7), _u(rng, -0.08, 0.08)
    # The long flag reaches down a quarter to half of the height.
    strokes = [pen.line((_u(rng, 0.0, 0.2), _u(rng, 0.18, 0.5)), (stem_x, 0.0), (stem_x + slant, 1.0))]
    if rng.random() < 0.85:
        tilt = _u(rng, -0.04, 0.04)
        strokes.append(pen.line((_u(rng, 0.05, 0.3), 1.0 + tilt), (_u(rng, 0.85, 1.0), 1.0 - tilt)))
    return pen.draw(strokes, rng, aspect=_u(rng, 0.5, 0.75), width=_pen_width(rng))


def _seven_crossed(rng: np.random.Generator) -> np.ndarray:
    foot = _u(rng, 0.25, 0.5)
    top = [(0.0, _u(rng, 0.0, 0.08)), (1.0, 0.0), (foot, 1.0)]
    if rng.random() < 0.3:  # a small serif down at the start of the bar
        top.insert(0, (0.02, _u(rng, 0.12, 0.22)))
    y = _u(rng, 0.42, 0.6)
    centre, half, tilt = 1.0 + (foot - 1.0) * y, _u(rng, 0.18, 0.35), _u(rng, -0.04, 0.04)
    strokes = [pen.line(*top), pen.line((centre - half, y + tilt), (centre + half, y - tilt))]
    return pen.draw(strokes, rng, aspect=_u(rng, 0.6, 0.85), width=_pen_width(rng))


def _four_open(rng: np.random.Generator) -> np.ndarray:
    bar = _u(rng, 0.55, 0.72)
    stem_x, stem_top = _u(rng, 0.6, 0.78), _u(rng, 0.0, 0.3)
    strokes = [pen.line((_u(rng, 0.2, 0.5), 0.0), (0.0, bar), (1.0, bar + _u(rng, -0.05, 0.05))),
               pen.line((stem_x, stem_top), (stem_x + _u(rng, -0.08, 0.05), 1.0))]
    return pen.draw(strokes, rng, aspect=_u(rng, 0.65, 0.95), width=_pen_width(rng))


def _nine_straight(rng: np.random.Generator) -> np.ndarray:
    ry = _u(rng, 0.2, 0.3)
    loop = pen.arc(0.5, ry, 0.5, ry, -10, 350, 28)
    stem = pen.line((1.0, ry), (_u(rng, 0.9, 1.02), 1.0))
    return pen.draw([np.concatenate([loop, stem])], rng, aspect=_u(rng, 0.5, 0.72), width=_pen_width(rng))


def _tall_oval(rng: np.random.Generator, label: int) -> np.ndarray:
    aspect, width = _u(rng, 0.28, 0.5), _u(rng, 0.04, 0.08)
    if label == 0:
        return pen.draw([pen.arc(0.5, 0.5, 0.5, 0.5, 270, 640, 32)], rng, aspect=aspect, width=width)
    ry = _u(rng, 0.2, 0.3)
    # The arm from the top right down the left side, then the loop at the bottom.
    arm = pen.arc(1.0, 1.0 - ry, 1.0, 1.0 - ry, 250, 180, 14)
    loop = pen.arc(0.5, 1.0 - ry, 0.5, ry, 180, 530, 24)
    return pen.draw([np.concatenate([arm, loop])], rng, aspect=aspect, width=width)


def _upscaled(digit: np.ndarray, height: int = 112) -> np.ndarray:
    ink = synthetic.coverage(synthetic.crop_ink(digit))
    image = Image.fromarray(ink, mode="F")
    width = max(1, round(image.width * height / image.height))
    return np.clip(np.asarray(image.resize((width, height), Image.Resampling.BICUBIC)), 0.0, 1.0)


def elastic(ink: np.ndarray, rng: np.random.Generator, *, amount: float, smoothness: float) -> np.ndarray:
    """Simard's elastic distortion: a smooth random displacement field of ``amount`` pixels."""
    shape = ink.shape
    dy = ndimage.gaussian_filter(rng.uniform(-1, 1, shape), smoothness)
    dx = ndimage.gaussian_filter(rng.uniform(-1, 1, shape), smoothness)
    norm = max(float(np.abs(dx).max()), float(np.abs(dy).max()), 1e-6)
    rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    coords = [rows + dy / norm * amount, cols + dx / norm * amount]
    return np.clip(ndimage.map_coordinates(ink, coords, order=1, mode="constant"), 0.0, 1.0)


def _thick_marker(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ink = np.pad(_upscaled(digit), 12)
    # MNIST strokes are about 12 px at this height: a marker is 1.5 to 2.5 times that.
    size = int(rng.integers(7, 18))
    return ndimage.gaussian_filter(ndimage.grey_dilation(ink, footprint=_disc(size)), 1.0)


def _disc(size: int) -> np.ndarray:
    r = (size - 1) / 2
    yy, xx = np.mgrid[:size, :size]
    return (yy - r) ** 2 + (xx - r) ** 2 <= r * r + 0.5


def _tall_mnist(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ink = _upscaled(digit)
    if rng.random() < 0.6:
        ink = ndimage.grey_erosion(np.pad(ink, 2), footprint=_disc(int(rng.integers(3, 6))))
    image = Image.fromarray(ink.astype(np.float32), mode="F")
    narrow = max(4, round(image.width * _u(rng, 0.35, 0.65)))
    return np.clip(np.asarray(image.resize((narrow, image.height), Image.Resampling.BICUBIC)), 0.0, 1.0)


def _lowres_scan(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ink = synthetic.coverage(synthetic.crop_ink(digit))
    image = Image.fromarray(np.pad(ink, 2), mode="F")
    # Scanned at 10-15 px per digit (fewer leaves many digits unreadable), then enlarged.
    low = int(rng.integers(10, 16))
    small = image.resize((max(3, round(image.width * low / image.height)), low), Image.Resampling.BOX)
    factor = _u(rng, 3.0, 6.0)
    resample = Image.Resampling.NEAREST if rng.random() < 0.3 else Image.Resampling.BILINEAR
    big = small.resize((round(small.width * factor), round(small.height * factor)), resample)
    return ndimage.gaussian_filter(np.clip(np.asarray(big), 0.0, 1.0), _u(rng, 0.5, 2.0))


def _child(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ink = np.pad(_upscaled(digit), 16)
    ink = elastic(ink, rng, amount=_u(rng, 5.0, 10.0), smoothness=_u(rng, 7.0, 11.0))
    # Uneven pressure: thicker in one part of the digit than in another.
    thick = ndimage.grey_dilation(ink, footprint=_disc(int(rng.integers(3, 9))))
    ramp = np.linspace(0, 1, ink.shape[0])[:, None] if rng.random() < 0.5 else np.linspace(0, 1, ink.shape[1])[None]
    return np.where(ramp > _u(rng, 0.2, 0.8), thick, ink)


def _pick(y: np.ndarray, labels: tuple[int, ...], rng: np.random.Generator) -> int:
    return int(rng.choice(np.flatnonzero(np.isin(y, labels))))


def style_ink(style: str, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> StyleInk:
    """One digit in ``style``; MNIST-based styles take their digit from ``x``, ``y``."""
    drawn = {"one_flag_base": (_one_flag_base, 1), "seven_crossed": (_seven_crossed, 7),
             "four_open": (_four_open, 4), "nine_straight": (_nine_straight, 9)}
    if style in drawn:
        make, label = drawn[style]
        return StyleInk(make(rng), label)
    if style == "tall_zero_six":
        index = _pick(y, (0, 6), rng)
        label = int(y[index])
        ink = _tall_oval(rng, label) if rng.random() < 0.5 else _tall_mnist(x[index], rng)
        return StyleInk(ink, label)
    index = int(rng.integers(len(x)))
    if style == "thick_marker":
        return StyleInk(_thick_marker(x[index], rng), int(y[index]))
    if style == "lowres_scan":
        return StyleInk(_lowres_scan(x[index], rng), int(y[index]))
    if style == "children":
        return StyleInk(_child(x[index], rng), int(y[index]), height_share=(0.55, 0.95), max_rotation=20.0)
    raise ValueError(f"unknown style {style!r}")


def style_digits(x: np.ndarray, y: np.ndarray, count: int, seed: int,
                 styles: tuple[str, ...] = STYLES, max_canvas: int = 800) -> list[synthetic.Sample]:
    """``count`` digits, the styles in turn, each drawn or photographed like a realistic single."""
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(count):
        style = styles[i % len(styles)]
        made = style_ink(style, x, y, rng)
        data, extension = synthetic.render_ink(made.ink, rng, max_canvas, made.height_share, made.max_rotation)
        samples.append(synthetic.Sample(data, str(made.label), extension, style))
    return samples
