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
results for every input. A drawing on a bare canvas, the common case, is worked out on the
box around its ink only (see _find_ink_in_window), with the statistics of the rest of the
sheet counted rather than computed pixel by pixel.
"""
from __future__ import annotations

import io
import struct
import warnings
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pyspng
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

ALLOWED_FORMATS = {"PNG", "JPEG", "MPO", "GIF", "BMP", "WEBP"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A decompression bomb declares a huge canvas in a tiny file; refuse before decoding.
MAX_PIXELS = 40_000_000
# Analysis happens at this size at most: enough detail for a line of digits in a photo.
WORK_MAX_SIDE = 640
# Smaller images (a 28x28 MNIST digit, a thumbnail) are enlarged to this first, so that
# noise filtering and thresholding act on sub-stroke detail rather than whole strokes.
WORK_MIN_SIDE = 200
# Each crop is re-rendered at this size before it is scaled into the 20x20 box.
CROP_SIDE = 160
BOX_SIDE = 20
FIELD_SIDE = 28
# Centre of mass of the average MNIST training digit, in (row, column) pixel indices.
MNIST_CENTRE = (14.0, 14.0)
# Stroke width of the median MNIST digit in CROP_SIDE units (see _stroke_width).
TARGET_STROKE = 20.0
# Below this ink contrast (on a 0-1 scale) an image counts as blank...
MIN_CONTRAST = 0.12
# ...and so does one whose darkest stroke is not clearly out of the sheet's noise.
MIN_SIGNAL_TO_NOISE = 8.0
MIN_INK_PIXELS = 12
# Below this estimated sensor noise (one grey level) an image is clean: no blur needed.
CLEAN_NOISE = 1 / 255
# Strokes are drawn from pixels above this share of the ink threshold: the faint parts of
# a light or blurred stroke then keep the digit's shape. Measured on the robustness sets
# (1.0 / 0.8 / 0.65 / 0.5 of the threshold: lines read exactly 94.4 / 96.6 / 97.2 / 96.6%).
RENDER_THRESHOLD = 0.65


NOT_AN_IMAGE = "The file is not an image we can read (PNG, JPEG, GIF, BMP or WebP)."


class ImageDecodeError(ValueError):
    """The bytes are not an image we can read; the message is fit to show a person."""


class NoDigitFound(Exception):
    """The image is blank or near-blank: nothing that looks like a digit."""


@dataclass(frozen=True)
class Digit:
    """One digit as the model sees it, and where it was found."""

    pixels: np.ndarray  # (28, 28) uint8, white ink on black
    box: tuple[int, int, int, int]  # x, y, width, height in the original image


# --------------------------------------------------------------------------- decoding

class OpenedImage(NamedTuple):
    image: Image.Image  # upright (EXIF orientation applied), first frame
    format: str  # "PNG", "JPEG", ...
    original: tuple[int, int]  # (height, width) as stored, turned upright


def open_image(data: bytes) -> OpenedImage:
    """Open and fully decode image bytes, safely.

    Refuses what is not a whole image of a supported format, and decompression bombs,
    with an ImageDecodeError whose message is fit to show a person. Large JPEG photos are
    decoded at a reduced scale (the original size is still reported).
    """
    with _refusing_unreadable():
        image = _open(data)
        width, height = image.size  # as stored: a JPEG's draft below shrinks it
        plain = _decode_plain_png(data, image)
        if plain is not None:
            return OpenedImage(plain, "PNG", (height, width))
        if image.format == "JPEG":
            # Lets libjpeg decode a big photo at 1/2, 1/4 or 1/8 scale directly.
            image.draft("RGB", (WORK_MAX_SIDE, WORK_MAX_SIDE))
        image.seek(0)
        image.load()
        # Read after load(): a PNG keeps its EXIF chunk after the pixels.
        orientation = image.getexif().get(0x0112, 1)
        original = (height, width) if orientation < 5 else (width, height)
        image_format = image.format
        if orientation != 1:
            image = ImageOps.exif_transpose(image)
        return OpenedImage(image, image_format, original)


# Chunks that leave a PNG's pixels as stored (Pillow and libspng apply no gamma or colour
# profile) and that Pillow reads before the pixels: a browser's canvas export has no others.
_PLAIN_PNG_HEAD = {b"IHDR", b"sRGB", b"gAMA", b"cHRM", b"iCCP", b"pHYs"}


def _decode_plain_png(data: bytes, image: Image.Image) -> Image.Image | None:
    """The pixels of a plain 8-bit RGB or RGBA PNG (what a canvas exports: no EXIF, no
    text, no transparent colour, one frame), decoded by libspng in about half Pillow's
    time; None for any other image, or if libspng refuses it (then Pillow decodes it, and
    says what is wrong). The tests check that the pixels are Pillow's.

    libspng checks neither the chunks' checksums nor the compressed stream's, and skips
    chunks after the pixels, where Pillow refuses what is damaged; so the checksums are
    checked here, and a file with any chunk after the pixels goes to Pillow. What still
    differs: a stream damaged before its chunks' checksums were computed (a faulty or
    malicious encoder), which Pillow refuses and libspng reads as whatever it inflates to.
    """
    if image.format != "PNG" or image.mode not in ("RGB", "RGBA") or data[24] != 8:  # (byte 24: bit depth)
        return None
    if not _is_plain_png(data):
        return None
    try:
        pixels = pyspng.load(data, image.mode)
    except Exception:  # noqa: BLE001 - anything libspng refuses goes to Pillow
        return None
    if pixels.shape[:2] != (image.height, image.width):
        return None
    return Image.fromarray(pixels)  # (H, W, 3 or 4) uint8: RGB or RGBA


def _is_plain_png(data: bytes) -> bool:
    """Whether the chunks are plain ones, in order (_PLAIN_PNG_HEAD, one run of IDAT, IEND),
    each whole and with a correct checksum. (A chunk is a 4-byte length, a 4-byte type, the
    data and a CRC-32 of the type and data.)"""
    view, position, pixels = memoryview(data), len(PNG_SIGNATURE), False
    while position + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        stop = position + 8 + length  # where its checksum starts
        if stop + 4 > len(data) or zlib.crc32(view[position + 4 : stop]) != struct.unpack_from(">I", data, stop)[0]:
            return False
        if kind == b"IEND":
            return pixels
        if kind == b"IDAT":
            pixels = True
        elif pixels or kind not in _PLAIN_PNG_HEAD:
            return False
        position = stop + 4
    return False


def check_image(data: bytes) -> str:
    """Check that ``data`` is a whole image of a supported format and size, as cheaply as
    the format allows; return the format ("PNG", "JPEG", ...). For accepting uploads.

    A PNG (what the draw page sends) is checked without decoding its pixels: every chunk
    is read through to the end and its checksum verified, which catches a truncated or
    damaged file for about a fortieth of the cost of decoding it. Only a file crafted with
    valid checksums around a broken compressed stream gets past; it fails when it is
    recognised, with the same message, unless it is a plain PNG that libspng can still
    read rows from (see _decode_plain_png). Other formats have no such checksums and are
    decoded in full, as open_image does.
    """
    if not data.startswith(PNG_SIGNATURE):
        return open_image(data).format
    with _refusing_unreadable():
        image = _open(data)
        image.verify()
        return image.format


def _open(data: bytes) -> Image.Image:
    """The file opened (header only) and checked: a supported format, a sane size."""
    if not data:
        raise ImageDecodeError("The file is empty.")
    image = Image.open(io.BytesIO(data))
    _check_format(image)
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise ImageDecodeError(f"The image is {width}x{height} pixels; at most {MAX_PIXELS:,} pixels are accepted.")
    return image


@contextmanager
def _refusing_unreadable():
    """Whatever Pillow raises for bad bytes becomes an ImageDecodeError with a message fit
    to show a person; a decompression bomb is refused, not warned about."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except ImageDecodeError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageDecodeError(NOT_AN_IMAGE)
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError):
        raise ImageDecodeError("The image is damaged or truncated and cannot be read.")


def decode_image(data: bytes) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode image bytes to grayscale float32 in [0, 1] (polarity untouched), and the
    image's original (height, width) after EXIF orientation.

    Handles palette, 16-bit, CMYK and transparency; large photos are reduced to
    WORK_MAX_SIDE.
    """
    gray, original, _ = _decode(data)
    return gray, original


def _decode(data: bytes) -> tuple[np.ndarray, tuple[int, int], _Plain | None]:
    opened = open_image(data)
    gray, plain = _to_gray(_shrink(opened.image))
    return gray, opened.original, plain


def _check_format(image: Image.Image) -> str:
    if image.format not in ALLOWED_FORMATS:
        raise ImageDecodeError(
            f"{image.format or 'This'} images are not supported; use PNG, JPEG, GIF, BMP or WebP."
        )
    return image.format


def _shrink(image: Image.Image) -> Image.Image:
    if max(image.size) <= WORK_MAX_SIDE:
        return image
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    scale = WORK_MAX_SIDE / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BOX)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


class _Plain(NamedTuple):
    """What is known of a gray image without looking: outside ``box`` (top, bottom, left,
    right) every pixel is exactly ``value``, e.g. the bare sheet around a canvas drawing."""

    box: tuple[int, int, int, int]
    value: np.float32


def _to_gray(image: Image.Image) -> tuple[np.ndarray, _Plain | None]:
    """The image as gray levels in [0, 1], and (for a canvas with a transparent
    background) the box outside which it is bare sheet."""
    if image.mode.startswith("I") or image.mode == "F":
        # 16-bit and 32-bit grayscale: scale by the range the values actually use.
        values = np.asarray(image, dtype=np.float32)
        peak = 65535.0 if values.max(initial=0) > 255 else 255.0
        return np.clip(values / peak, 0.0, 1.0), None
    if not _has_alpha(image):
        return np.asarray(image if image.mode == "L" else image.convert("L"), dtype=np.float32) / 255.0, None
    rgba = image if image.mode == "RGBA" else image.convert("RGBA")
    width, height = rgba.size
    # Only the pixels that are not fully transparent need any work: everywhere else the
    # result is the bare sheet (alpha_composite copies the sheet where alpha is 0). Pillow
    # composites and converts pixel by pixel, so doing it on the crop gives the same values.
    bbox = rgba.getbbox()  # alpha_only: the box of the pixels with alpha > 0
    if bbox is None:  # nothing opaque: a blank, transparent canvas, laid on white
        return np.ones((height, width), np.float32), _Plain((0, 1, 0, 1), np.float32(1.0))
    left, top, right, bottom = bbox
    crop = rgba if bbox == (0, 0, width, height) else rgba.crop(bbox)
    alpha = np.asarray(crop.getchannel("A"))
    colour_gray = np.asarray(crop.convert("L"))  # gray of the colours (alpha plays no part)
    opaque = alpha > 127
    count = int(np.count_nonzero(opaque))
    if count in (0, width * height):
        ink_is_dark = count == 0  # nothing opaque: a blank, transparent canvas
    else:
        # A canvas exported with a transparent background: the strokes are the opaque part.
        # Lay them on the colour that contrasts with them, whichever colour they are. (The
        # mean gray level of the opaque pixels, as ImageStat computes it: an exact sum
        # divided by the count.)
        ink_is_dark = float(colour_gray[opaque].sum(dtype=np.int64)) / count < 127.5
    sheet_colour = (255, 255, 255, 255) if ink_is_dark else (0, 0, 0, 255)
    level = np.float32(1.0 if ink_is_dark else 0.0)  # the sheet's gray, 255 or 0, / 255
    gray = np.full((height, width), level, np.float32)
    gray[top:bottom, left:right] = _composite_gray(crop, alpha, colour_gray, sheet_colour) / 255.0
    plain = None if crop is rgba else _Plain((top, bottom, left, right), level)
    return gray, plain


def _composite_gray(rgba: Image.Image, alpha: np.ndarray, colour_gray: np.ndarray,
                    sheet_colour: tuple[int, int, int, int]) -> np.ndarray:
    """Gray levels (float32, 0-255) of ``rgba`` laid on an opaque sheet of one colour:
    Image.alpha_composite(sheet, rgba).convert("L").

    alpha_composite gives the pixel's own colour where alpha is 255 and the sheet where
    it is 0; only the pixels in between are mixed. A canvas has few of those (the edges of
    its strokes), so only they go through Pillow, unless they are many.
    """
    mixed = alpha - np.uint8(1) < 254  # 0 < alpha < 255 (0 - 1 wraps round to 255)
    count = int(np.count_nonzero(mixed))
    if 4 * count > mixed.size:
        sheet = Image.new("RGBA", rgba.size, sheet_colour)
        return np.asarray(Image.alpha_composite(sheet, rgba).convert("L"), dtype=np.float32)
    gray = np.where(alpha == 255, colour_gray, np.uint8(sheet_colour[0]))
    if count:
        where = np.flatnonzero(mixed)
        pixels = np.asarray(rgba).reshape(-1, 4)[where]
        some = Image.frombuffer("RGBA", (count, 1), pixels, "raw", "RGBA", 0, 1)
        sheet = Image.new("RGBA", some.size, sheet_colour)
        gray.reshape(-1)[where] = np.asarray(Image.alpha_composite(sheet, some).convert("L")).reshape(-1)
    return gray.astype(np.float32)


def load_gray(image: bytes | np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Bytes (any supported format) or an array (H, W) of 0-255 or 0-1 values -> [0, 1],
    with the original (height, width)."""
    gray, original, _ = _load(image)
    return gray, original


def _load(image: bytes | np.ndarray) -> tuple[np.ndarray, tuple[int, int], _Plain | None]:
    if isinstance(image, (bytes, bytearray, memoryview)):
        return _decode(bytes(image))
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2 or array.size == 0:
        raise ImageDecodeError("Expected a 2-D grayscale image.")
    return (array / 255.0 if array.max(initial=0) > 1.0 else array), array.shape, None


# --------------------------------------------------------------------------- ink

@dataclass(frozen=True)
class _Ink:
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


def _find_ink(gray: np.ndarray, original_shape: tuple[int, int], plain: _Plain | None = None) -> _Ink:
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
    return _ink_above_noise(ink, float(ink.max()), noise, gray.shape[0] / original_shape[0])


def _ink_above_noise(ink: np.ndarray, peak: float, noise: float, scale: float, offset: tuple[int, int] = (0, 0),
                     outside: np.float32 = np.float32(0.0)) -> _Ink | None:
    """The last steps of _find_ink, on the ink level above the background (``peak`` its
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
    return _Ink(soft=ink, mask=mask, threshold=threshold, scale=scale, offset=offset, labels=labels, kept=kept)


def _median_step(steps: np.ndarray) -> float:
    """np.median(steps) of these absolute differences (which it may reorder); on a clean
    image most are 0, and then so is the median, without sorting anything.

    (With NaN among the steps, from an array input, np.median would say NaN where this
    may say 0; _find_ink only compares the noise, and both fail every comparison alike.)
    """
    if steps.size - np.count_nonzero(steps) > steps.size // 2:
        return 0.0
    return float(np.median(steps, overwrite_input=True))


def _plain_outside(gray: np.ndarray) -> _Plain | None:
    """The box outside which the image is all one value (its corners' value), if its four
    corners agree: a drawing on a bare sheet. None for anything else (a photo)."""
    value = gray[0, 0]
    if not (gray[0, -1] == value and gray[-1, 0] == value and gray[-1, -1] == value):
        return None  # also when the value is NaN
    differs = gray != value
    rows = np.flatnonzero(differs.any(axis=1))
    if rows.size == 0:  # one value throughout: any box will do
        return _Plain((0, 1, 0, 1), value)
    cols = np.flatnonzero(differs[rows[0] : rows[-1] + 1].any(axis=0))
    return _Plain((int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1), value)


def _find_ink_in_window(gray: np.ndarray, original_shape: tuple[int, int], plain: _Plain) -> _Ink | None:
    """_find_ink for an image that is one plain value outside a box, computed on the
    window of background tiles around that box only. Gives exactly what _find_ink would,
    or None when it cannot be sure to (noise, uneven light...): then use _find_ink.

    Every step of _find_ink is either per pixel, or a statistic whose value the plain
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
    window = gray[y0:y1, x0:x1]
    content = gray[top:bottom, left:right]  # (the rest of the window is plain)
    lowest, highest = content.min(), content.max()
    if not (np.isfinite(lowest) and np.isfinite(highest)):
        return None  # NaN or infinity (arrays only): leave those to _find_ink

    # Noise: the median of |steps| between neighbours on every other row. Outside the box
    # they are all 0; unless most steps are 0 (a clean image), use _find_ink.
    steps_size = -(-h // 2) * (w - 1)
    if steps_size:
        near = gray[y0 + y0 % 2 : y1 : 2, max(x0 - 1, 0) : min(x1 + 1, w)]
        if steps_size - np.count_nonzero(np.diff(near, axis=1)) <= steps_size // 2:
            return None
    noise = 1.4826 * 0.0 / np.sqrt(2)  # as _find_ink computes it: no blur
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
    # (np.clip(x, 0.0, None), as _find_ink has it, is np.maximum(x, 0.0))
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


def _mask_labels(ink: _Ink) -> tuple[np.ndarray, int]:
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
    return max(8, min(max(h, w) // 8, min(h, w) // 2))


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


# --------------------------------------------------------------------------- digits

def _stroke_width(mask: np.ndarray) -> float:
    # A stroke of width w and length L has area w*L and an outline of about 2*L pixels:
    # the pixels that ndimage.binary_erosion (4-neighbours, outside is background) drops.
    area = np.count_nonzero(mask)
    inner = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    edges = area - np.count_nonzero(inner)
    return 2.0 * float(area) / edges if edges else 0.0


def _grow2(mask: np.ndarray) -> np.ndarray:
    """ndimage.binary_dilation(mask, iterations=2): the pixels within two 4-neighbour
    steps of the mask, by slicing (several times faster on a digit's crop)."""
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
    # ndimage.center_of_mass(small), without its overhead: the same sums.
    cy = (small * np.arange(small.shape[0], dtype=float)[:, None]).sum() / total
    cx = (small * np.arange(small.shape[1], dtype=float)[None, :]).sum() / total
    top = min(max(round(MNIST_CENTRE[0] - cy), 0), FIELD_SIDE - small.shape[0])
    left = min(max(round(MNIST_CENTRE[1] - cx), 0), FIELD_SIDE - small.shape[1])
    field[top : top + small.shape[0], left : left + small.shape[1]] = small
    return np.clip(field / field.max() * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _digit_from(ink: _Ink, member: np.ndarray) -> Digit:
    """Render the ink pixels selected by ``member`` (a bool mask) as one digit."""
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


def _prepare(image: bytes | np.ndarray) -> _Ink:
    gray, original_shape, plain = _load(image)
    longest = max(gray.shape)
    if longest < WORK_MIN_SIDE or longest > WORK_MAX_SIDE:
        factor = (WORK_MIN_SIDE if longest < WORK_MIN_SIDE else WORK_MAX_SIDE) / longest
        gray, plain = _resize(gray, factor), None
    return _find_ink(gray, original_shape, plain)


def _resize(gray: np.ndarray, factor: float) -> np.ndarray:
    h, w = gray.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    resample = Image.Resampling.BILINEAR if factor > 1 else Image.Resampling.BOX
    image = Image.fromarray(np.ascontiguousarray(gray, dtype=np.float32), mode="F")
    return np.asarray(image.resize(size, resample))


def to_model_input(image: bytes | np.ndarray) -> Digit:
    """One digit: all the ink in the image, normalised as MNIST was. Raises NoDigitFound."""
    ink = _prepare(image)
    return _digit_from(ink, ink.mask)


# --------------------------------------------------------------------------- lines

@dataclass
class _Group:
    labels: list[int]
    left: int
    right: int  # exclusive
    top: int
    bottom: int  # exclusive
    area: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def absorb(self, other: _Group) -> None:
        self.labels += other.labels
        self.left, self.right = min(self.left, other.left), max(self.right, other.right)
        self.top, self.bottom = min(self.top, other.top), max(self.bottom, other.bottom)
        self.area += other.area


def _x_overlap(a: _Group, b: _Group) -> int:
    return max(0, min(a.right, b.right) - max(a.left, b.left))


def _merge_fragments(groups: list[_Group], line_height: float) -> list[_Group]:
    """Join the pieces of a broken stroke (the bar of a 5, the top of a 7) to their digit.

    A piece is a fragment when it is much shorter than the line; it joins the digit it
    overlaps most horizontally. Full-height neighbours that merely touch in x stay apart.
    """
    changed = True
    while changed and len(groups) > 1:
        changed = False
        for fragment in sorted(groups, key=lambda g: g.area):
            if fragment.height >= 0.6 * line_height:
                continue
            others = [g for g in groups if g is not fragment]
            best = max(others, key=lambda g: (_x_overlap(fragment, g), -abs(
                (g.left + g.right) - (fragment.left + fragment.right))))
            overlap = _x_overlap(fragment, best)
            gap = max(best.left - fragment.right, fragment.left - best.right, 0)
            if overlap >= 0.4 * fragment.width or (overlap == 0 and gap < 0.1 * line_height
                                                     and fragment.area < 0.25 * best.area):
                best.absorb(fragment)
                groups.remove(fragment)
                changed = True
                break
    return groups


def _split_points(profile: np.ndarray, pieces: int) -> list[int]:
    """Columns at which to cut touching digits: the thinnest ink near each even share.

    A cut is made only where the ink really narrows (a valley in the column profile);
    a wide 0 or 2 has no such valley and stays whole.
    """
    width = len(profile)
    typical = float(np.median(profile[profile > 0])) if (profile > 0).any() else 0.0
    cuts = []
    for k in range(1, pieces):
        ideal = k * width / pieces
        window = max(1, int(0.3 * width / pieces))
        lo, hi = max(1, int(ideal - window)), min(width - 1, int(ideal + window) + 1)
        best = lo + int(np.argmin(profile[lo:hi]))
        if profile[best] <= 0.5 * typical:
            cuts.append(best)
    return cuts


Scorer = Callable[[np.ndarray], np.ndarray]
"""Confidence of a classifier for each of (N, 28, 28) digits: lets segmentation check
its doubtful cuts and joins by how much more a reader believes the result."""

# A doubtful join or split must make the reader this much surer to be taken.
SCORE_MARGIN = 0.1


def _bounds(member: np.ndarray) -> tuple[int, int]:
    cols = np.flatnonzero(member.any(axis=0))
    return int(cols[0]), int(cols[-1]) + 1


def segment_digits(image: bytes | np.ndarray, *, max_digits: int = 32,
                   scorer: Scorer | None = None) -> list[Digit]:
    """A line of handwritten digits, left to right, each normalised as MNIST was.

    Connected components are the digits; fragments of a broken stroke are merged back,
    and a component much wider than a digit is split where its ink is thinnest. With a
    ``scorer``, a split is kept only if its pieces read more surely than the whole, and
    neighbours close enough to be one broken digit are joined if they read more surely
    as one. Raises NoDigitFound when there is no ink.
    """
    ink = _prepare(image)
    labels, count = _mask_labels(ink)
    groups = []
    for index, region in enumerate(ndimage.find_objects(labels), start=1):
        if region is None:
            continue
        area = int((labels[region] == index).sum())
        groups.append(_Group([index], region[1].start, region[1].stop, region[0].start,
                             region[0].stop, area))
    heights = sorted(g.height for g in groups)
    tall = [h for h in heights if h >= 0.5 * heights[-1]]
    line_height = float(np.median(tall))
    groups = _merge_fragments(groups, line_height)

    def confidence(members: list[np.ndarray]) -> np.ndarray:
        return scorer(np.stack([_digit_from(ink, m).pixels for m in members]))

    members: list[np.ndarray] = []
    for group in sorted(groups, key=lambda g: g.left):
        member = np.isin(labels, group.labels)
        parts = _split(member, group, line_height, max_digits)
        if len(parts) > 1 and scorer is not None:
            whole, pieces = confidence([member])[0], confidence(parts)
            if np.prod(pieces) < whole + SCORE_MARGIN:
                parts = [member]
        members.extend(parts)
    if scorer is not None:
        members = _join_broken(members, line_height, confidence)
    members.sort(key=lambda m: _bounds(m)[0])
    return [_digit_from(ink, member) for member in members[:max_digits]]


def _split(member: np.ndarray, group: _Group, line_height: float, max_digits: int) -> list[np.ndarray]:
    # Digits are seldom much wider than tall; a blob far wider may be touching digits.
    if group.width <= 1.3 * line_height:
        return [member]
    pieces = max(2, min(int(round(group.width / (0.75 * line_height))), max_digits))
    region = member[:, group.left : group.right]
    cuts = [0, *_split_points(region.sum(axis=0), pieces), group.width]
    parts = []
    for start, stop in zip(cuts, cuts[1:]):
        part = np.zeros_like(member)
        part[:, group.left + start : group.left + stop] = region[:, start:stop]
        if part.sum() >= MIN_INK_PIXELS:
            parts.append(part)
    return parts or [member]


def _join_broken(members: list[np.ndarray], line_height: float, confidence) -> list[np.ndarray]:
    """Join neighbours that read better as one digit (a 4 or a 9 whose stroke broke)."""
    members = sorted(members, key=lambda m: _bounds(m)[0])
    while len(members) > 1:
        pairs = []
        for i in range(len(members) - 1):
            (left_a, right_a), (left_b, right_b) = _bounds(members[i]), _bounds(members[i + 1])
            close = left_b - right_a < 0.25 * line_height
            digit_sized = max(right_a, right_b) - min(left_a, left_b) <= 1.1 * line_height
            if close and digit_sized:
                pairs.append(i)
        if not pairs:
            break
        singles = confidence(members)
        joined = confidence([members[i] | members[i + 1] for i in pairs])
        gains = [joined[k] - singles[i] * singles[i + 1] for k, i in enumerate(pairs)]
        best = int(np.argmax(gains))
        if gains[best] < SCORE_MARGIN:
            break
        i = pairs[best]
        members[i : i + 2] = [members[i] | members[i + 1]]
    return members
