"""Labelled images of digits as people really draw and photograph them, built from MNIST.

The robustness targets are measured on these: MNIST *test* digits (never training ones)
re-rendered off-centre on a larger canvas, at any size, in either polarity, on paper tones
and boards, under uneven light, with noise, blur, slight rotation and JPEG artefacts; and
lines of 2 to 6 such digits. Everything is seeded, so a set is reproducible from its seed.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

# Paper and board colours (RGB) with a matching ink: dark on light and light on dark.
DARK_INK_ON = [(255, 255, 255), (250, 246, 230), (255, 250, 205), (225, 225, 225),
               (220, 235, 250), (245, 225, 230)]
DARK_INKS = [(0, 0, 0), (20, 30, 120), (40, 40, 40), (90, 20, 20), (60, 60, 80)]
LIGHT_INK_ON = [(0, 0, 0), (30, 60, 40), (25, 25, 35), (50, 50, 50)]
LIGHT_INKS = [(255, 255, 255), (235, 235, 220), (250, 250, 180)]


NOT_A_DIGIT = "none"  # the label of an image with no digit in it


@dataclass(frozen=True)
class Sample:
    data: bytes  # an encoded image file (PNG or JPEG)
    label: str  # the digit, the digits of a line left to right, or NOT_A_DIGIT
    extension: str
    kind: str = ""  # the style or the kind of non-digit, where a set has several


def crop_ink(digit: np.ndarray) -> np.ndarray:
    """The box around the ink of a uint8 digit (MNIST) or a 0-1 coverage image."""
    level = 30 if digit.dtype == np.uint8 else 30 / 255
    rows = np.flatnonzero(digit.max(axis=1) > level)
    cols = np.flatnonzero(digit.max(axis=0) > level)
    return digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def coverage(digit: np.ndarray) -> np.ndarray:
    """Ink coverage 0-1 (float32) of a uint8 digit or of a coverage image."""
    if digit.dtype == np.uint8:
        return digit.astype(np.float32) / 255.0
    return np.clip(np.asarray(digit, np.float32), 0.0, 1.0)


def _scaled(ink: np.ndarray, height: int, rng: np.random.Generator, max_rotation: float = 10.0) -> np.ndarray:
    """An ink crop scaled to ``height`` pixels, slightly rotated; values 0-1."""
    image = Image.fromarray(coverage(crop_ink(ink)), mode="F")
    image = image.rotate(float(rng.uniform(-max_rotation, max_rotation)), resample=Image.Resampling.BICUBIC,
                         expand=True)
    width = max(1, round(image.width * height / image.height))
    image = image.resize((width, height), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)


def capture(alpha: np.ndarray, rng: np.random.Generator, *, drawn_share: float = 0.25) -> tuple[bytes, str]:
    """Ink (coverage ``alpha``) as the draw page sends it (a clean canvas PNG) or as a photo."""
    if rng.random() < drawn_share:
        return _drawn(alpha, rng)
    return _photograph(alpha, rng)


def _drawn(alpha: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str]:
    # The draw page: full-strength dark ink on white, lossless.
    ink = np.array(DARK_INKS[rng.integers(len(DARK_INKS))], np.float32)
    rgb = 255.0 * (1 - alpha[..., None]) + ink * alpha[..., None]
    buffer = io.BytesIO()
    Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), "RGB").save(buffer, "PNG")
    return buffer.getvalue(), "png"


def _photograph(alpha: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str]:
    """Lay ink (coverage ``alpha``) on paper, light it unevenly, add noise, blur, encode."""
    h, w = alpha.shape
    if rng.random() < 0.75:
        paper = np.array(DARK_INK_ON[rng.integers(len(DARK_INK_ON))], np.float32)
        ink = np.array(DARK_INKS[rng.integers(len(DARK_INKS))], np.float32)
    else:
        paper = np.array(LIGHT_INK_ON[rng.integers(len(LIGHT_INK_ON))], np.float32)
        ink = np.array(LIGHT_INKS[rng.integers(len(LIGHT_INKS))], np.float32)
    # Pens do not always lay full ink: strength 60-100%.
    a = alpha[..., None] * rng.uniform(0.6, 1.0)
    rgb = paper * (1 - a) + ink * a
    # Uneven light: a linear gradient across the sheet, down to 65% at the dark side.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xx / max(w, 1) + np.sin(angle) * yy / max(h, 1))
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    rgb *= (1.0 - rng.uniform(0.0, 0.35) * ramp)[..., None]
    rgb += rng.normal(0.0, rng.uniform(0.0, 12.0), rgb.shape)
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.5))))
    buffer = io.BytesIO()
    if rng.random() < 0.5:
        image.save(buffer, "JPEG", quality=int(rng.integers(35, 95)))
        return buffer.getvalue(), "jpg"
    image.save(buffer, "PNG")
    return buffer.getvalue(), "png"


def render_ink(ink: np.ndarray, rng: np.random.Generator, max_canvas: int = 800,
               height_share: tuple[float, float] = (0.0, 0.9), max_rotation: float = 10.0) -> tuple[bytes, str]:
    """A shape (uint8 digit or 0-1 coverage) off-centre on a canvas of 64 to ``max_canvas``
    px, at least 16 px tall and between ``height_share`` of the canvas, drawn or photographed."""
    canvas_w, canvas_h = int(rng.integers(64, max_canvas)), int(rng.integers(64, max_canvas))
    side = min(canvas_w, canvas_h)
    low = max(16, int(height_share[0] * side))
    height = int(rng.integers(low, max(low + 1, int(height_share[1] * side))))
    ink = _scaled(ink, height, rng, max_rotation)[:canvas_h, :canvas_w]
    top = int(rng.integers(0, canvas_h - ink.shape[0] + 1))
    left = int(rng.integers(0, canvas_w - ink.shape[1] + 1))
    alpha = np.zeros((canvas_h, canvas_w), np.float32)
    alpha[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    return capture(alpha, rng)


def render_single(digit: np.ndarray, rng: np.random.Generator, max_canvas: int = 800) -> tuple[bytes, str]:
    """One digit off-centre on a canvas of 64 to ``max_canvas`` px, drawn or photographed."""
    return render_ink(digit, rng, max_canvas)


def single_digits(x: np.ndarray, y: np.ndarray, count: int, seed: int = 0) -> list[Sample]:
    """``count`` single digits off-centre on canvases of 64-800 px, any size, any polarity."""
    rng = np.random.default_rng(seed)
    samples = []
    for index in rng.choice(len(x), size=min(count, len(x)), replace=False):
        data, extension = render_single(x[index], rng)
        samples.append(Sample(data, str(int(y[index])), extension))
    return samples


def digit_lines(x: np.ndarray, y: np.ndarray, count: int, seed: int = 0,
                lengths: tuple[int, int] = (2, 6), sources: list | None = None) -> list[Sample]:
    """``count`` lines of 2-6 digits written side by side, not touching, with jitter. With
    ``sources``, each line's indices into ``x`` are appended to it, left to right."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(count):
        n = int(rng.integers(lengths[0], lengths[1] + 1))
        picks = rng.choice(len(x), size=n, replace=False)
        if sources is not None:
            sources.append([int(i) for i in picks])
        height = int(rng.integers(28, 120))
        pieces = [_scaled(x[i], max(12, int(height * rng.uniform(0.85, 1.1))), rng) for i in picks]
        gaps = [int(height * rng.uniform(0.12, 0.5)) for _ in range(n - 1)]
        margin = int(height * rng.uniform(0.2, 1.5))
        width = sum(p.shape[1] for p in pieces) + sum(gaps) + 2 * margin
        canvas_h = int(max(p.shape[0] for p in pieces) * 1.3) + 2 * margin
        alpha = np.zeros((canvas_h, width), np.float32)
        left = margin
        for k, piece in enumerate(pieces):
            top = margin + int(rng.integers(0, canvas_h - 2 * margin - piece.shape[0] + 1))
            alpha[top : top + piece.shape[0], left : left + piece.shape[1]] = np.maximum(
                alpha[top : top + piece.shape[0], left : left + piece.shape[1]], piece)
            left += piece.shape[1] + (gaps[k] if k < len(gaps) else 0)
        data, extension = capture(alpha, rng)
        samples.append(Sample(data, "".join(str(int(y[i])) for i in picks), extension))
    return samples


def write_folder(samples: list[Sample], folder: str | Path) -> Path:
    """Write samples as image files plus ``labels.csv`` (file,label,kind), as evaluate_model reads."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "labels.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "label", "kind"])
        for i, sample in enumerate(samples):
            name = f"{i:05d}.{sample.extension}"
            (folder / name).write_bytes(sample.data)
            writer.writerow([name, sample.label, sample.kind])
    return folder
