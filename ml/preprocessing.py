"""Bytes in, MNIST-style 28x28 digits out: the single source of truth for model input.

Training, evaluation and serving all go through here. The steps follow how MNIST itself
was built (LeCun et al.): the ink of each digit is cropped, scaled to fit a 20x20 box
keeping its aspect ratio, anti-aliased, and placed in a 28x28 field so that its centre of
mass is at the centre. Before that, real images need work MNIST never did: decoding any
common format safely, finding which side is ink (a whiteboard, a blackboard, a canvas with
a transparent background), flattening uneven light, ignoring sensor noise, and deciding
that there is no digit at all rather than guessing.

Stroke width is normalised too: a 1 px pen line on a large photo and a fat finger stroke
on a small canvas both end up about as thick as MNIST's pen strokes, which is what the
model has learnt.

This runs on every prediction, so it is written for speed, but the shipped model was
trained on exactly its output: any faster way of computing a step must give bit-identical
results for every input. Decoding is ml/decoding.py, finding the ink ml/ink.py, and a line
of several digits is cut into digits by ml/segmentation.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from ml.decoding import WORK_MAX_SIDE, WORK_MIN_SIDE, load
from ml.ink import Ink, NoDigitFound, find_ink

# Each crop is re-rendered at this size before it is scaled into the 20x20 box.
CROP_SIDE = 160
BOX_SIDE = 20
FIELD_SIDE = 28
# Centre of mass of the average MNIST training digit, in (row, column) pixel indices.
MNIST_CENTRE = (14.0, 14.0)
# Stroke width of the median MNIST digit in CROP_SIDE units (see _stroke_width).
TARGET_STROKE = 20.0
# Strokes are drawn from pixels above this share of the ink threshold: the faint parts of
# a light or blurred stroke then keep the digit's shape. Of the shares tried on the
# robustness sets, this one read the most lines; higher and lower ones read fewer.
RENDER_THRESHOLD = 0.65


@dataclass(frozen=True)
class Digit:
    """One digit as the model sees it, and where it was found."""

    pixels: np.ndarray  # (28, 28) uint8, white ink on black
    box: tuple[int, int, int, int]  # x, y, width, height in the original image


def _stroke_width(mask: np.ndarray) -> float:
    # A stroke of width w and length L has area w*L and an outline of about 2*L pixels:
    # the pixels that ndimage.binary_erosion (4-neighbours, outside is background) drops.
    area = np.count_nonzero(mask)
    inner = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    edges = area - np.count_nonzero(inner)
    return 2.0 * float(area) / edges if edges else 0.0


def _grow2(mask: np.ndarray) -> np.ndarray:
    """ndimage.binary_dilation(mask, iterations=2): the pixels within two 4-neighbour
    steps of the mask, by slicing (ndimage's overhead dominates on a crop this small)."""
    h, w = mask.shape
    padded = np.zeros((h + 4, w + 4), bool)
    padded[2:-2, 2:-2] = mask
    once = padded.copy()
    once[1:-1, 1:-1] |= padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]
    return once[2:-2, 2:-2] | once[1:-3, 2:-2] | once[3:-1, 2:-2] | once[2:-2, 1:-3] | once[2:-2, 3:-1]


def _normalise_stroke(mask: np.ndarray) -> np.ndarray:
    width = _stroke_width(mask)
    if width <= 0:
        return mask
    if width < 0.7 * TARGET_STROKE:
        return ndimage.distance_transform_edt(~mask) <= (TARGET_STROKE - width) / 2
    if width > 1.6 * TARGET_STROKE:
        thinner = ndimage.distance_transform_edt(mask) > (width - TARGET_STROKE) / 2
        # Thinning must not break the digit apart or erase a thin part of it.
        before = ndimage.label(mask, structure=np.ones((3, 3)))[1]
        after = ndimage.label(thinner, structure=np.ones((3, 3)))[1]
        if after == before and thinner.sum() > 0.3 * mask.sum():
            return thinner
    return mask


def _centre_of_mass(weights: np.ndarray, total: float) -> tuple[float, float]:
    """ndimage.center_of_mass(weights) as (row, column), without its overhead: the same sums
    (``total`` is weights.sum(), which the caller has)."""
    cy = (weights * np.arange(weights.shape[0], dtype=float)[:, None]).sum() / total
    cx = (weights * np.arange(weights.shape[1], dtype=float)[None, :]).sum() / total
    return cy, cx


def _render(soft: np.ndarray, threshold: float) -> np.ndarray:
    """A crop of ink strength around one digit -> the 28x28 uint8 MNIST-style field."""
    mask = _normalise_stroke(_resize(soft, CROP_SIDE / max(soft.shape)) > threshold)
    if not mask.any():
        raise NoDigitFound("no digit found")
    # The box is the rendered ink's own: faint edges kept for grouping may lie outside it.
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    mask = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    # Area-averaging the binary strokes down to the 20x20 box gives MNIST's anti-aliasing.
    small = _resize(mask.astype(np.float32), BOX_SIDE / max(mask.shape))
    field = np.zeros((FIELD_SIDE, FIELD_SIDE), dtype=np.float32)
    total = small.sum()
    if total <= 0:
        raise NoDigitFound("no digit found")
    cy, cx = _centre_of_mass(small, total)
    top = min(max(round(MNIST_CENTRE[0] - cy), 0), FIELD_SIDE - small.shape[0])
    left = min(max(round(MNIST_CENTRE[1] - cx), 0), FIELD_SIDE - small.shape[1])
    field[top : top + small.shape[0], left : left + small.shape[1]] = small
    return np.clip(field / field.max() * 255.0 + 0.5, 0, 255).astype(np.uint8)


def digit_from(ink: Ink, member: np.ndarray) -> Digit:
    """Render the ink pixels selected by ``member`` (a bool mask over ``ink``) as one digit."""
    rows = np.flatnonzero(member.any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(member[top:bottom].any(axis=0))
    left, right = int(cols[0]), int(cols[-1]) + 1
    # Keep the soft edges of this digit's strokes but nothing of its neighbours'.
    near = _grow2(member[top:bottom, left:right])
    soft = ink.soft[top:bottom, left:right] * near
    # (ink's arrays may be a window of the working image: offset gives its corner)
    top_offset, left_offset = ink.offset
    box = tuple(int(round(v / ink.scale))
                for v in (left + left_offset, top + top_offset, right - left, bottom - top))
    return Digit(pixels=_render(soft, RENDER_THRESHOLD * ink.threshold), box=box)


def prepare(image: bytes | np.ndarray, max_side: int = WORK_MAX_SIDE) -> Ink:
    """The ink of an image, found at the working size (see ml/decoding.py), or at most
    ``max_side`` pixels a side."""
    return _ink_of(*load(image, max_side), max_side)


def _ink_of(gray: np.ndarray, original_shape: tuple[int, int], plain, max_side: int = WORK_MAX_SIDE) -> Ink:
    longest = max(gray.shape)
    if longest < WORK_MIN_SIDE or longest > max_side:
        factor = (WORK_MIN_SIDE if longest < WORK_MIN_SIDE else max_side) / longest
        gray, plain = _resize(gray, factor), None
    return find_ink(gray, original_shape, plain)


def _resize(gray: np.ndarray, factor: float) -> np.ndarray:
    h, w = gray.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    resample = Image.Resampling.BILINEAR if factor > 1 else Image.Resampling.BOX
    image = Image.fromarray(np.ascontiguousarray(gray, dtype=np.float32), mode="F")
    return np.asarray(image.resize(size, resample))


def model_form(gray: np.ndarray) -> Digit | None:
    """The image as model input, with its ink's box, if it already is one, else None.

    An upload of a 28x28 digit normalised the MNIST way (a dark field, ink whose box's
    longest side is 19-20 pixels, no side over 20, its centre of mass within half a pixel
    of MNIST_CENTRE, a full-strength stroke), white ink on black or the reverse, is what
    preprocessing would make of it: re-rendering it would only blur it.
    """
    if gray.shape != (FIELD_SIDE, FIELD_SIDE):
        return None
    pixels = np.rint(np.asarray(gray, dtype=np.float32) * 255.0).astype(np.uint8)
    for candidate in (pixels, 255 - pixels):
        ink = candidate > 0
        if not ink.any() or ink.mean() > 0.5 or candidate.max() < 250:
            continue
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
        if max(height, width) < BOX_SIDE - 1 or max(height, width) > BOX_SIDE:
            continue
        weights = candidate.astype(np.float64)
        cy, cx = _centre_of_mass(weights, weights.sum())
        if abs(cy - MNIST_CENTRE[0]) <= 0.5 + 1e-9 and abs(cx - MNIST_CENTRE[1]) <= 0.5 + 1e-9:
            return Digit(pixels=candidate, box=(int(cols[0]), int(rows[0]), int(width), int(height)))
    return None


def digit_of(image: bytes | np.ndarray) -> tuple[Digit, Ink | None]:
    """All the ink in the image as one digit, with the Ink it was found in; an image that
    already is model input (see model_form) comes back as it is, with no Ink."""
    gray, original_shape, plain = load(image)
    ready = model_form(gray)
    if ready is not None:
        return ready, None
    ink = _ink_of(gray, original_shape, plain)
    return digit_from(ink, ink.mask), ink


def to_model_input(image: bytes | np.ndarray) -> Digit:
    """One digit: all the ink in the image, normalised as MNIST was. Raises NoDigitFound."""
    return digit_of(image)[0]


def rendered(image: bytes | np.ndarray) -> Digit:
    """All the ink in the image re-rendered as one digit, even when the image already is
    model input (training shows the model such re-rendered copies too)."""
    ink = prepare(image)
    return digit_from(ink, ink.mask)
