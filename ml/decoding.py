"""Image bytes to an upright grey image, safely: the first step of ml/preprocessing.py.

Any common format is opened, refused with a message fit to show a person when it is not
a whole, sane image, turned upright by its EXIF orientation, reduced to the working size
and made grey. A canvas with a transparent background is laid on the colour that contrasts
with its strokes.

Memory: an image is decoded only if its decode fits MAX_DECODE_BYTES (judged from its
header, before any pixel is read), and at most a few decode at once in a process
(``set_max_concurrent_decodes``). JPEG is decoded at a reduced scale (1/2 to 1/8) straight
from the file; PNG, GIF, BMP and WebP have no such option and are decoded in full, then
shrunk to WORK_MAX_SIDE.
"""
from __future__ import annotations

import io
import threading
import warnings
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"PNG", "JPEG", "MPO", "GIF", "BMP", "WEBP"}
# Analysis happens at this size at most: enough detail for a line of digits in a photo.
WORK_MAX_SIDE = 640
# Memory one decode may take, from the file's header: a 12000x12000 grey scan fits, a
# 6000x6000 WebP (decoded through several full-size buffers) does not. With
# MAX_CONCURRENT_DECODES (2) decodes at once, a process spends at most ~400 MB on them.
MAX_DECODE_BYTES = 192 * 2**20
# Peak bytes per pixel of a full decode then shrink, by the mode Pillow decodes into
# (measured with ru_maxrss; Pillow keeps 3 bands in 4 bytes, and modes other than L, LA,
# RGB and RGBA are converted at full size before shrinking). WebP's decoder adds its own
# full-size buffers whatever the mode.
DECODE_BYTES_PER_PIXEL = {"1": 1.25, "L": 1.25, "P": 6, "RGB": 5, "YCbCr": 5, "I;16": 7, "I;16B": 7,
                          "I": 9, "F": 9, "LA": 9, "PA": 9, "RGBA": 9, "CMYK": 9}
WEBP_BYTES_PER_PIXEL = 17
# Smaller images (a 28x28 MNIST digit, a thumbnail) are enlarged to this first, so that
# noise filtering and thresholding act on sub-stroke detail rather than whole strokes.
WORK_MIN_SIDE = 200


def gettext_noop(message: str) -> str:
    """Marks a message for Django's makemessages; the web layer translates it (ml never
    imports Django)."""
    return message


NOT_AN_IMAGE = gettext_noop("The file is not an image we can read (PNG, JPEG, GIF, BMP or WebP).")


class ImageDecodeError(ValueError):
    """The bytes are not an image we can read; the message is fit to show a person.
    ``template`` and ``params`` let the web layer show it translated."""

    def __init__(self, template: str, params: dict | None = None):
        self.template, self.params = template, params or {}
        super().__init__(template % self.params if self.params else template)


class TooManyPixels(ImageDecodeError):
    """A readable image whose decode would not fit MAX_DECODE_BYTES."""


_decode_slots = threading.BoundedSemaphore(2)


def set_max_concurrent_decodes(count: int) -> None:
    """How many full decodes may run at once in this process (set once, at start-up)."""
    global _decode_slots
    _decode_slots = threading.BoundedSemaphore(count)


class OpenedImage(NamedTuple):
    image: Image.Image  # upright (EXIF orientation applied), first frame
    format: str  # "PNG", "JPEG", ...
    original: tuple[int, int]  # (height, width) as stored, turned upright


def open_image(data: bytes) -> OpenedImage:
    """Open and fully decode image bytes, safely.

    Refuses what is not a whole image of a supported format, or needs more memory than
    MAX_DECODE_BYTES, with an ImageDecodeError whose message is fit to show a person.
    Large JPEG photos are decoded at a reduced scale (the original size is still reported).
    The caller holds a decode slot (``_decode``) for as long as the full-size image lives.
    """
    with _refusing_unreadable():
        image, (width, height) = _open(data)
        image.seek(0)
        image.load()
        # Read after load(): a PNG keeps its EXIF chunk after the pixels.
        orientation = image.getexif().get(0x0112, 1)
        original = (height, width) if orientation < 5 else (width, height)
        image_format = image.format
        if orientation != 1:
            image = ImageOps.exif_transpose(image)
        return OpenedImage(image, image_format, original)


def check_image(data: bytes) -> str:
    """Check ``data`` from its header, without decoding its pixels: a supported format, a
    sane size, a decode that fits MAX_DECODE_BYTES; return the format ("PNG", "JPEG", ...).
    For accepting uploads: the one full decode happens later, where the image is recognised.

    A PNG (what the draw page sends) is also read through to the end and every chunk's
    checksum verified, which catches a truncated or damaged file cheaply. Other formats
    have no such checksums: a damaged body past a sound header is found by the decode,
    which refuses it with the same kind of message (the prediction fails as unreadable).
    """
    with _refusing_unreadable():
        image, _ = _open(data)
        if image.format == "PNG":
            image.verify()
        return image.format


def _open(data: bytes) -> tuple[Image.Image, tuple[int, int]]:
    """The file opened (header only) and checked: a supported format, a sane size, a decode
    within MAX_DECODE_BYTES; and its (width, height) as stored. A JPEG is set to decode at
    the smallest scale that keeps WORK_MAX_SIDE."""
    if not data:
        raise ImageDecodeError(gettext_noop("The file is empty."))
    image = Image.open(io.BytesIO(data))
    _check_format(image)
    size = width, height = image.size
    if width < 1 or height < 1:
        raise ImageDecodeError(NOT_AN_IMAGE)
    if image.format in ("JPEG", "MPO"):
        # libjpeg decodes a big photo at 1/2, 1/4 or 1/8 scale directly.
        image.draft("RGB", (WORK_MAX_SIDE, WORK_MAX_SIDE))
    per_pixel = WEBP_BYTES_PER_PIXEL if image.format == "WEBP" else DECODE_BYTES_PER_PIXEL.get(image.mode, 9)
    if image.width * image.height * per_pixel > MAX_DECODE_BYTES:
        most = MAX_DECODE_BYTES / per_pixel * (width * height) / (image.width * image.height)
        raise TooManyPixels(*too_many_pixels_message(width, height, most))
    return image, size


def too_many_pixels_message(width: int, height: int, most: float) -> tuple[str, dict]:
    return (gettext_noop("The image has too many pixels: %(width)d x %(height)d, at most %(most)d million "
                         "for this kind of image. Send a smaller copy."),
            {"width": width, "height": height, "most": round(most / 1e6)})


@contextmanager
def _refusing_unreadable():
    """Whatever Pillow raises for bad bytes becomes an ImageDecodeError with a message fit
    to show a person. Pillow's own decompression-bomb limit gives way to MAX_DECODE_BYTES,
    which is stricter; past twice its limit Pillow refuses before we see the size."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    except ImageDecodeError:
        raise
    except Image.DecompressionBombError:
        raise TooManyPixels(gettext_noop("The image has too many pixels: more than %(most)d million. "
                                         "Send a smaller copy."), {"most": round(2 * Image.MAX_IMAGE_PIXELS / 1e6)})
    except UnidentifiedImageError:
        raise ImageDecodeError(NOT_AN_IMAGE)
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError):
        raise ImageDecodeError(gettext_noop("The image is damaged or truncated and cannot be read."))


def decode_image(data: bytes) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode image bytes to grayscale float32 in [0, 1] (polarity untouched), and the
    image's original (height, width) after EXIF orientation.

    Handles palette, 16-bit, CMYK and transparency; large photos are reduced to
    WORK_MAX_SIDE.
    """
    gray, original, _ = _decode(data)
    return gray, original


def _decode(data: bytes) -> tuple[np.ndarray, tuple[int, int], Plain | None]:
    with _decode_slots:  # the full-size image lives only in here
        opened = open_image(data)
        small = _shrink(opened.image)
        original = opened.original
        del opened
    gray, plain = _to_gray(small)
    return gray, original, plain


def _check_format(image: Image.Image) -> str:
    if image.format not in ALLOWED_FORMATS:
        if not image.format:
            raise ImageDecodeError(gettext_noop("This kind of image is not supported; use PNG, JPEG, GIF, BMP or WebP."))
        raise ImageDecodeError(gettext_noop("%(format)s images are not supported; use PNG, JPEG, GIF, BMP or WebP."),
                               {"format": image.format})
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


class Plain(NamedTuple):
    """What is known of a gray image without looking: outside ``box`` (top, bottom, left,
    right) every pixel is exactly ``value``, e.g. the bare sheet around a canvas drawing."""

    box: tuple[int, int, int, int]
    value: np.float32


def _to_gray(image: Image.Image) -> tuple[np.ndarray, Plain | None]:
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
        return np.ones((height, width), np.float32), Plain((0, 1, 0, 1), np.float32(1.0))
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
    plain = None if crop is rgba else Plain((top, bottom, left, right), level)
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


def load(image: bytes | np.ndarray) -> tuple[np.ndarray, tuple[int, int], Plain | None]:
    """Bytes (any supported format) or an array (H, W) of 0-255 or 0-1 values -> [0, 1],
    with the original (height, width) and, for a canvas drawing, the Plain around it."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        return _decode(bytes(image))
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2 or array.size == 0:
        raise ImageDecodeError("Expected a 2-D grayscale image.")
    return (array / 255.0 if array.max(initial=0) > 1.0 else array), array.shape, None
