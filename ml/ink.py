"""Which pixels of a grey image are ink, and whether there is any.

Finds which side is ink (a whiteboard, a blackboard, a canvas), flattens uneven light,
ignores sensor noise and specks, and decides that there is no digit at all rather than
guessing. A drawing on a bare canvas, the common case, is worked out on the box around
its ink only (see _find_ink_in_window), with the statistics of the rest of the sheet
counted rather than computed pixel by pixel; it must give exactly what the full
computation gives, since the model was trained on that.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from ml.decoding import Plain

# Below this ink contrast (on a 0-1 scale) an image counts as blank...
MIN_CONTRAST = 0.12
# ...and so does one whose darkest stroke is not clearly out of the sheet's noise.
MIN_SIGNAL_TO_NOISE = 8.0
MIN_INK_PIXELS = 12
# A row or column of a photo inked at least RULED_LEVEL over this share of its length is
# a printed line of the paper, not ink of a digit (see _without_ruling).
RULED_SHARE = 0.9
RULED_LEVEL = 0.05
# Below this estimated sensor noise (one grey level) an image is clean: no blur needed.
CLEAN_NOISE = 1 / 255


class NoDigitFound(Exception):
    """The image is blank or near-blank: nothing that looks like a digit."""


@dataclass(frozen=True)
class Ink:
    soft: np.ndarray  # ink strength in [0, 1], 0 is background
    mask: np.ndarray  # bool: ink pixels after noise removal
    threshold: float
    scale: float  # working pixels per original pixel
    # soft and mask may cover only a window of the working image, where all the ink is:
    # the (row, column) of its top-left corner.
    offset: tuple[int, int] = (0, 0)
    # The pieces mask was made of: labels of the candidate ink (8-connected) and, by
    # label, whether the piece was kept. segment_digits reuses them.
    labels: np.ndarray | None = None
    kept: np.ndarray | None = None


def find_ink(gray: np.ndarray, original_shape: tuple[int, int], plain: Plain | None = None) -> Ink:
    # A clean drawing on a bare sheet (a canvas) gives the same answer when worked out on
    # the window around its ink, much faster; see _find_ink_in_window.
    plain = plain or _plain_outside(gray)
    if plain is not None:
        ink = _find_ink_in_window(gray, original_shape, plain)
        if ink is not None:
            return ink
    # Sensor noise, from differences of neighbouring pixels: blind to gradients and ink
    # edges (rare), unlike the spread of the whole image.
    steps = np.diff(gray[::2], axis=1)
    np.abs(steps, out=steps)
    noise = 1.4826 * _median_step(steps) / np.sqrt(2) if steps.size else 0.0
    # Blur lightly: noise and JPEG artefacts must not decide polarity or ink. A sigma-1
    # Gaussian leaves about 0.28 of white noise. A clean canvas needs none.
    smooth = ndimage.gaussian_filter(gray, 1.0) if noise > CLEAN_NOISE else gray
    median = float(np.median(smooth[::3, ::3]))
    # Ink is the side further from the background, judged by the extremes (a small
    # digit on a large sheet is far less than 1% of the pixels).
    ink = (1.0 - smooth) if (median - smooth.min()) > (smooth.max() - median) else smooth
    ink = ink - _background(ink)
    np.maximum(ink, 0.0, out=ink)  # (np.clip(ink, 0.0, None) is just that)
    ink = _without_ruling(ink)
    return _ink_above_noise(ink, float(ink.max()), noise, gray.shape[0] / original_shape[0])


def _ink_above_noise(ink: np.ndarray, peak: float, noise: float, scale: float, offset: tuple[int, int] = (0, 0),
                     outside: np.float32 = np.float32(0.0)) -> Ink | None:
    """The last steps of find_ink, on the ink level above the background (``peak`` its
    highest): refuse a blank, scale the peak to 1, threshold, keep the pieces that are not
    specks. ``outside``: the ink level of the plain part around a window (see
    _find_ink_in_window); None if that part would be ink, never when it is 0."""
    residual_noise = 0.28 * noise
    # Blank: too faint to be ink, or not clearly above the noise of the sheet.
    if peak < MIN_CONTRAST or peak < MIN_SIGNAL_TO_NOISE * residual_noise:
        raise NoDigitFound("no digit found")
    if peak != 1.0:  # (x / 1.0 is x)
        ink = ink / peak
        outside = outside / peak
    floor = max(0.2, 4 * residual_noise / peak)
    if outside > floor:
        return None  # the plain part would be ink
    candidates = ink[ink > floor]
    threshold = float(np.clip(_otsu(candidates), floor, 0.6)) if candidates.size else floor
    # With nothing outside a window above floor, no piece of ink reaches out of it.
    mask, labels, kept = _ink_components(ink, threshold, max(floor, threshold / 2))
    if np.count_nonzero(mask) < MIN_INK_PIXELS:
        raise NoDigitFound("no digit found")
    return Ink(soft=ink, mask=mask, threshold=threshold, scale=scale, offset=offset, labels=labels, kept=kept)


def _without_ruling(ink: np.ndarray) -> np.ndarray:
    """Ink without the lines of ruled or squared paper.

    A printed line crosses the whole sheet, which no stroke of a digit does: it is seen as
    a row (or column) inked over RULED_SHARE of its length. Every row and column is then
    lowered by its own floor (its ink at that share), which takes the lines away and
    leaves most of a stroke that crosses one. A sheet with no such line is left as it is.
    """
    h, w = ink.shape
    if min(h, w) < 16:
        return ink
    share = 1.0 - RULED_SHARE
    # A floor reaches RULED_LEVEL only if the value just above the quantile's position does,
    # so only if at least n - floor(share * (n - 1)) - 1 of the n values do: counting them
    # settles most sheets at a quarter of the quantiles' cost, with the same answer.
    inked = ink >= RULED_LEVEL
    if (inked.sum(axis=1).max() < w - int(share * (w - 1)) - 1
            and inked.sum(axis=0).max() < h - int(share * (h - 1)) - 1):
        return ink
    rows = np.quantile(ink, share, axis=1)
    cols = np.quantile(ink, share, axis=0)
    if max(rows.max(), cols.max()) < RULED_LEVEL:
        return ink
    return np.maximum(ink - np.maximum(rows[:, None], cols[None, :]), 0.0).astype(ink.dtype)


def _median_step(steps: np.ndarray) -> float:
    """np.median(steps) of these absolute differences (which it may reorder); on a clean
    image most are 0, and then so is the median, without sorting anything.

    (With NaN among the steps, from an array input, np.median would say NaN where this
    may say 0; find_ink only compares the noise, and both fail every comparison alike.)
    """
    if steps.size - np.count_nonzero(steps) > steps.size // 2:
        return 0.0
    return float(np.median(steps, overwrite_input=True))


def _plain_outside(gray: np.ndarray) -> Plain | None:
    """The box outside which the image is all one value (its corners' value), if its four
    corners agree: a drawing on a bare sheet. None for anything else (a photo)."""
    value = gray[0, 0]
    if not (gray[0, -1] == value and gray[-1, 0] == value and gray[-1, -1] == value):
        return None  # also when the value is NaN
    differs = gray != value
    rows = np.flatnonzero(differs.any(axis=1))
    if rows.size == 0:  # one value throughout: any box will do
        return Plain((0, 1, 0, 1), value)
    cols = np.flatnonzero(differs[rows[0] : rows[-1] + 1].any(axis=0))
    return Plain((int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1), value)


def _find_ink_in_window(gray: np.ndarray, original_shape: tuple[int, int], plain: Plain) -> Ink | None:
    """find_ink for an image that is one plain value outside a box, computed on the
    window of background tiles around that box only. Gives exactly what find_ink would,
    or None when it cannot be sure to (noise, uneven light...): then use find_ink.

    Every step of find_ink is either per pixel, or a statistic whose value the plain
    part decides in a way that can be counted (the medians), or an extreme (min, max). So
    the window is run through the same operations, and the plain value alongside it as a
    one-pixel array, then the statistics are combined.
    """
    h, w = gray.shape
    top, bottom, left, right = plain.box
    value = plain.value
    tile = _tile_side(h, w)
    # The window: the background tiles the box touches (see _background), in pixels.
    tile_rows = (top // tile, -(-bottom // tile))
    tile_cols = (left // tile, -(-right // tile))
    y0, y1 = tile_rows[0] * tile, min(tile_rows[1] * tile, h)
    x0, x1 = tile_cols[0] * tile, min(tile_cols[1] * tile, w)
    if (bottom - top) * (right - left) == h * w or not np.isfinite(value):
        return None  # no plain part at all
    if bottom - top >= RULED_SHARE * h or right - left >= RULED_SHARE * w:
        return None  # ink may run across the sheet: find_ink looks for ruled lines
    window = gray[y0:y1, x0:x1]
    content = gray[top:bottom, left:right]  # (the rest of the window is plain)
    lowest, highest = content.min(), content.max()
    if not (np.isfinite(lowest) and np.isfinite(highest)):
        return None  # NaN or infinity (arrays only): leave those to find_ink

    # Noise: the median of |steps| between neighbours on every other row. Outside the box
    # they are all 0; unless most steps are 0 (a clean image), use find_ink.
    steps_size = -(-h // 2) * (w - 1)
    if steps_size:
        near = gray[y0 + y0 % 2 : y1 : 2, max(x0 - 1, 0) : min(x1 + 1, w)]
        if steps_size - np.count_nonzero(np.diff(near, axis=1)) <= steps_size // 2:
            return None
    noise = 1.4826 * 0.0 / np.sqrt(2)  # as find_ink computes it: no blur
    # np.median(gray[::3, ::3]): the plain value, if it holds the middle of the order.
    size = -(-h // 3) * -(-w // 3)
    samples = gray[-(-y0 // 3) * 3 : y1 : 3, -(-x0 // 3) * 3 : x1 : 3]
    below, above = np.count_nonzero(samples < value), np.count_nonzero(samples > value)
    if below <= (size - 1) // 2 and above <= size - 1 - size // 2:
        median = float(value)
    else:
        median = float(np.median(gray[::3, ::3]))
    darkest, lightest = min(value, lowest), max(value, highest)
    outside = np.array([value], np.float32)  # the plain part, put through the same steps
    if (median - darkest) > (lightest - median):
        ink, outside = 1.0 - window, 1.0 - outside
    else:
        ink = window
    # Background: the tiles outside the window are plain, so is their median.
    medians = np.full((-(-h // tile), -(-w // tile)), outside[0], np.float32)
    medians[tile_rows[0] : tile_rows[1], tile_cols[0] : tile_cols[1]] = _tile_medians(ink, tile, finite=True)
    background = _level(medians, h, w, tile)
    # From here on, the box is enough: the rest of the window is plain too.
    ink = ink[top - y0 : bottom - y0, left - x0 : right - x0]
    if isinstance(background, float):
        outside = np.maximum(outside - background, 0.0)
    else:
        # Uneven light (or a thick stroke): the background varies. Outside the box the
        # ink, max(plain - background, 0), is then 0 if the background is nowhere lower.
        if not background.min() >= outside[0]:
            return None
        background = background[top:bottom, left:right]
        outside = np.zeros(1, np.float32)
    # (np.clip(x, 0.0, None), as find_ink has it, is np.maximum(x, 0.0))
    ink = ink - background
    np.maximum(ink, 0.0, out=ink)
    peak = float(max(ink.max(), outside[0]))
    return _ink_above_noise(ink, peak, noise, gray.shape[0] / original_shape[0], offset=(top, left),
                            outside=outside[0])


_EIGHT_CONNECTED = np.ones((3, 3), bool)


def _ink_components(ink: np.ndarray, high: float, low: float) -> tuple[np.ndarray, np.ndarray | None,
                                                                        np.ndarray | None]:
    """The ink: pixels above ``low`` connected to a pixel above ``high`` (hysteresis), in
    pieces that are not specks. Also the labels of the pieces and which were kept.

    A faint stretch of a stroke (a pen running dry, a light touch) keeps the digit in one
    piece, while faint smudges on their own are not ink. Pieces of a digit (a broken bar,
    the dot of a stroke) are not tiny next to the largest stroke; dust, noise and JPEG
    speckle are.
    """
    candidates = ink > low
    labels, count = ndimage.label(candidates, structure=_EIGHT_CONNECTED)
    if count == 0:
        return np.zeros(ink.shape, bool), None, None
    if count == 1:
        # One piece (often so on a canvas): it is strong if any pixel is above both
        # thresholds, and its area is the number of candidates (no lookups by label).
        area = np.count_nonzero(candidates)
        strong = np.array([False, np.any(ink > max(low, high))])
        areas = np.array([labels.size - area, area])
    else:
        strong = np.zeros(count + 1, bool)
        strong[labels[ink > high]] = True
        strong[0] = False
        areas = np.bincount(labels.ravel(), minlength=count + 1)
    if not strong.any():
        return np.zeros(ink.shape, bool), None, None
    keep = strong & (areas >= max(4, 0.03 * areas[strong].max()))
    # keep[labels]; when every piece is kept (a clean drawing) that is all the candidates.
    mask = candidates if keep[1:].all() else keep[labels]
    return mask, labels, keep


def mask_labels(ink: Ink) -> tuple[np.ndarray, int]:
    """ndimage.label(ink.mask, 8-connected), from the labels the mask was made of.

    The mask is a union of whole 8-connected pieces, so its pieces are those kept; and
    label numbers pieces in the order of their first pixel, so renumbering the kept ones
    in order gives the same labels.
    """
    kept = np.flatnonzero(ink.kept)
    renumber = np.zeros(ink.kept.size, np.int32)
    renumber[kept] = np.arange(1, kept.size + 1, dtype=np.int32)
    return renumber[ink.labels], int(kept.size)


def _tile_side(h: int, w: int) -> int:
    # At least five tiles across the short side: _background's 3x3 opening flattens an
    # axis of three tiles or fewer, and a shadow across a wide, short photo became ink.
    return max(8, min(max(h, w) // 8, min(h, w) // 5))


def _background(ink: np.ndarray) -> np.ndarray | float:
    """Slowly varying background level (uneven light, paper tone), from tile medians.

    Tiles full of ink would read as background, so the grid of medians is opened (min,
    then max, over 3x3 tiles): a bump narrower than that, which is ink, goes, while a
    gradient across the sheet stays.
    """
    h, w = ink.shape
    tile = _tile_side(h, w)
    return _level(_tile_medians(ink, tile), h, w, tile)


def _tile_medians(ink: np.ndarray, tile: int, finite: bool = False) -> np.ndarray:
    """Median of each tile of a block that starts on the tile grid (the last row and
    column of tiles padded with the edge pixels). ``finite``: no NaN in ink."""
    h, w = ink.shape
    rows, cols = -(-h // tile), -(-w // tile)
    padded = ink
    if (rows * tile, cols * tile) != (h, w):  # as np.pad(mode="edge"), much faster
        padded = np.empty((rows * tile, cols * tile), ink.dtype)
        padded[:h, :w] = ink
        padded[h:, :w] = ink[-1]
        padded[:, w:] = padded[:, w - 1 : w]
    tiles = padded.reshape(rows, tile, cols, tile).transpose(0, 2, 1, 3).reshape(rows, cols, -1)
    if tile >= 16:
        tiles = tiles[:, :, ::4]  # a quarter of each tile is plenty for its median
    if not finite:
        return np.median(tiles, axis=2)
    # np.median without its overhead (and NaN check): the middle value, or the float32
    # mean of the middle two, as np.mean gives it.
    size = tiles.shape[2]
    middle = size // 2
    if size % 2:
        return np.partition(tiles, middle, axis=2)[:, :, middle]
    ordered = np.partition(tiles, (middle - 1, middle), axis=2)
    return (ordered[:, :, middle - 1] + ordered[:, :, middle]) / 2


def _level(medians: np.ndarray, h: int, w: int, tile: int) -> np.ndarray | float:
    """The background level from the grid of tile medians (see _background)."""
    rows, cols = medians.shape
    lowest, highest = medians.min(), medians.max()
    if lowest == highest:  # all one level: opening it would change nothing
        return float(medians.mean())
    if np.isfinite(lowest) and np.isfinite(highest):
        medians = _open3x3(medians)
    else:  # NaN (arrays only): ndimage's own order of comparisons decides
        medians = ndimage.grey_opening(medians, size=(3, 3), mode="nearest")
    if medians.max() - medians.min() < 0.02:  # (np.ptp)
        return float(medians.mean())  # evenly lit: one level will do
    stretched = Image.fromarray(medians.astype(np.float32), mode="F").resize(
        (cols * tile, rows * tile), Image.Resampling.BILINEAR)
    return np.asarray(stretched)[:h, :w]


def _open3x3(grid: np.ndarray) -> np.ndarray:
    """ndimage.grey_opening(grid, size=(3, 3), mode="nearest") for finite values: the
    3x3 minimum, then the 3x3 maximum (ndimage is slow on a grid this small)."""
    return _extreme3x3(_extreme3x3(grid, np.minimum), np.maximum)


def _extreme3x3(values: np.ndarray, pick) -> np.ndarray:
    # Separably, rows then columns. With the edges repeated ("nearest"), a pixel on the
    # edge is its own missing neighbour, which changes no minimum or maximum.
    rows = values.copy()
    pick(rows[1:], values[:-1], out=rows[1:])
    pick(rows[:-1], values[1:], out=rows[:-1])
    both = rows.copy()
    pick(both[:, 1:], rows[:, :-1], out=both[:, 1:])
    pick(both[:, :-1], rows[:, 1:], out=both[:, :-1])
    return both


_OTSU_BINS = 64
# np.histogram's bin edges for float32 values and the range (0, 1): exactly k / 64.
_OTSU_EDGES = np.linspace(0.0, 1.0, _OTSU_BINS + 1, dtype=np.float32)
_OTSU_CENTRES = (_OTSU_EDGES[:-1] + _OTSU_EDGES[1:]) / 2


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold for values in [0, 1]: here, faint stroke edges versus stroke cores."""
    if values.dtype == np.float32:
        # np.histogram(values, bins=64, range=(0.0, 1.0)), faster: with edges k / 64
        # exactly, a value's bin is floor(64 v), and 1.0 belongs to the last bin.
        hist = np.bincount(np.minimum((values * _OTSU_BINS).astype(np.intp), _OTSU_BINS - 1),
                           minlength=_OTSU_BINS)
        edges, centres = _OTSU_EDGES, _OTSU_CENTRES
    else:
        hist, edges = np.histogram(values, bins=_OTSU_BINS, range=(0.0, 1.0))
        centres = (edges[:-1] + edges[1:]) / 2
    hist = hist.astype(np.float64)
    total = hist.sum()
    weight0 = np.cumsum(hist)
    weight1 = total - weight0
    cum_mean = np.cumsum(hist * centres)
    mean_all = cum_mean[-1] / total
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean_all * weight0 - cum_mean) ** 2 / (weight0 * weight1)
    # between is >= 0, +inf or NaN: fmax(NaN, 0) is 0 and argmax takes the first +inf,
    # as with np.nan_to_num.
    return float(edges[int(np.fmax(between[:-1], 0.0).argmax()) + 1])
