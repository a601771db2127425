"""Test images built in code: MNIST test digits laid on canvases, and strokes drawn with Pillow."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from ml.synthetic import crop_ink as ink_crop


def encode(image: Image.Image, fmt: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def place(digit: np.ndarray, *, canvas: tuple[int, int] = (280, 280), at: tuple[int, int] = (100, 100),
          height: int = 120, ink: int = 0, paper: int = 255) -> Image.Image:
    """An MNIST digit scaled to ``height`` px with its top-left at ``at`` on a grayscale canvas."""
    crop = Image.fromarray(ink_crop(digit))
    width = max(1, round(crop.width * height / crop.height))
    alpha = np.asarray(crop.resize((width, height), Image.Resampling.BICUBIC), np.float32) / 255.0
    alpha = np.clip(alpha, 0, 1)
    sheet = np.full((canvas[1], canvas[0]), float(paper), np.float32)
    x, y = at
    region = sheet[y : y + height, x : x + width]
    a = alpha[: region.shape[0], : region.shape[1]]
    sheet[y : y + height, x : x + width] = region * (1 - a) + ink * a
    return Image.fromarray(np.clip(sheet, 0, 255).astype(np.uint8), "L")


def line_of(digits: list[np.ndarray], *, height: int = 80, gap: int = 25, margin: int = 30,
            ink: int = 0, paper: int = 255) -> Image.Image:
    """Digits side by side, left to right, on one grayscale sheet."""
    crops = [Image.fromarray(ink_crop(d)) for d in digits]
    scaled = [c.resize((max(1, round(c.width * height / c.height)), height), Image.Resampling.BICUBIC)
              for c in crops]
    width = sum(s.width for s in scaled) + gap * (len(scaled) - 1) + 2 * margin
    alpha = np.zeros((height + 2 * margin, width), np.float32)
    x = margin
    for s in scaled:
        alpha[margin : margin + height, x : x + s.width] = np.asarray(s, np.float32) / 255.0
        x += s.width + gap
    alpha = np.clip(alpha, 0, 1)
    sheet = paper * (1 - alpha) + ink * alpha
    return Image.fromarray(np.clip(sheet, 0, 255).astype(np.uint8), "L")


def with_star(sheet: Image.Image, *, size: int = 76, width: int = 6) -> Image.Image:
    """``sheet`` widened to the right with a five-pointed star drawn there in one stroke:
    a mark that is no digit, after a line of digits."""
    w, h = sheet.size
    wider = Image.new("L", (w + size + 30, h), 255)
    wider.paste(sheet, (0, 0))
    cx, cy, r = w + size / 2, h / 2, size / 2
    points = [(cx + r * np.sin(k * 4 * np.pi / 5), cy - r * np.cos(k * 4 * np.pi / 5)) for k in range(6)]
    ImageDraw.Draw(wider).line(points, fill=0, width=width, joint="curve")
    return wider


def drawn_canvas(strokes: list[list[tuple[int, int]]], *, size: tuple[int, int] = (280, 280),
                 width: int = 16, transparent: bool = True, colour=(0, 0, 0)) -> Image.Image:
    """Strokes as a browser canvas exports them: RGBA, transparent background by default."""
    background = (0, 0, 0, 0) if transparent else (255, 255, 255, 255)
    image = Image.new("RGBA", size, background)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        draw.line(stroke, fill=(*colour, 255), width=width, joint="curve")
        for x, y in (stroke[0], stroke[-1]):
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=(*colour, 255))
    return image


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two 28x28 digits: 1 is identical up to brightness."""
    return float(np.corrcoef(a.astype(np.float64).ravel(), b.astype(np.float64).ravel())[0, 1])


def assert_mnist_shaped(pixels: np.ndarray) -> None:
    """What MNIST promises: 28x28, ink fits a 20x20 box, centre of mass at the centre."""
    assert pixels.shape == (28, 28) and pixels.dtype == np.uint8
    assert pixels.max() == 255
    rows = np.flatnonzero(pixels.max(axis=1) > 0)
    cols = np.flatnonzero(pixels.max(axis=0) > 0)
    assert max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) in (19, 20, 21)
    cy, cx = ndimage.center_of_mass(pixels.astype(float))
    assert abs(cy - 14) < 1.0 and abs(cx - 14) < 1.0


def blend(a: np.ndarray, b: np.ndarray, weight: float) -> Image.Image:
    """Two MNIST digits laid over each other, ``a`` at ``weight`` and ``b`` at the rest, on a
    canvas as ``place`` draws one: a drawing ambiguous between them."""
    mixed = np.clip(weight * a.astype(np.float32) + (1 - weight) * b.astype(np.float32), 0, 255)
    return place(mixed.astype(np.uint8))


def page_of(lines: list[list[np.ndarray]], *, indents: list[int], slopes: list[float] | None = None,
            rotation: float = 0.0, height: int = 60, spacing: int = 40, margin: int = 40) -> Image.Image:
    """Lines of digits one under the other, each at its own indent and slope (degrees), on
    one white sheet, the whole sheet then turned by ``rotation`` degrees."""
    slopes = slopes or [0.0] * len(lines)
    strips = [line_of(digits, height=height, gap=height // 3, margin=0).rotate(
        slope, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255) for digits, slope in zip(lines, slopes)]
    width = max(indent + s.width for indent, s in zip(indents, strips)) + 2 * margin
    sheet = Image.new("L", (width, sum(s.height for s in strips) + spacing * (len(strips) - 1) + 2 * margin), 255)
    top = margin
    for indent, strip in zip(indents, strips):
        sheet.paste(strip, (margin + indent, top))
        top += strip.height + spacing
    return sheet.rotate(rotation, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
