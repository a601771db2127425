import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFile

from ml import decoding
from ml.decoding import (WORK_MAX_SIDE, ImageDecodeError, TooManyPixels, _composite_gray, check_image,
                         decode_image, open_image)
from tests.images import encode, place


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas: a decompression bomb."""
    data = bytearray(encode(Image.new("L", (8, 8), 255)))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


@pytest.mark.parametrize("name, payload", [
    ("empty", b""),
    ("text", b"hello, this is not an image"),
    ("svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><path d="M0 0L9 9"/></svg>'),
    ("truncated png", encode(Image.new("L", (200, 200), 128))[:60]),
    ("decompression bomb", _png_declaring(30000, 30000)),
    ("tiff", encode(Image.new("L", (20, 20)), "TIFF")),
])
def test_it_refuses_what_is_not_a_readable_image(name, payload):
    for read in (decode_image, check_image):  # recognising, and accepting an upload
        with pytest.raises(ImageDecodeError) as error:
            read(payload)
        assert str(error.value)  # a sentence a person can read, never empty


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "GIF", "BMP", "WEBP"])
def test_the_upload_check_accepts_every_supported_format(image_format):
    assert check_image(encode(Image.new("RGB", (30, 20), (200, 10, 10)), image_format)) == image_format


def test_the_upload_check_refuses_a_png_cut_anywhere_or_damaged_without_decoding_it():
    png = encode(Image.effect_noise((120, 90), 60))
    for cut in range(33, len(png) - 1, 97):  # after the header, up to the last byte
        with pytest.raises(ImageDecodeError):
            check_image(png[:cut])
    pixels = png.index(b"IDAT") + 40
    damaged = png[:pixels] + bytes([png[pixels] ^ 0xFF]) + png[pixels + 1:]
    with pytest.raises(ImageDecodeError, match="damaged"):
        check_image(damaged)  # the chunk's checksum no longer matches


def test_compositing_only_the_semi_transparent_pixels_matches_pillow():
    rng = np.random.default_rng(1)
    for _ in range(50):
        pixels = rng.integers(0, 256, (40, 60, 4), dtype=np.uint8)
        pixels[..., 3] = rng.choice([0, 255, 128, 1, 254], size=(40, 60), p=[0.5, 0.35, 0.05, 0.05, 0.05])
        rgba = Image.fromarray(pixels, "RGBA")
        for sheet in ((255, 255, 255, 255), (0, 0, 0, 255)):
            expected = np.asarray(Image.alpha_composite(Image.new("RGBA", rgba.size, sheet), rgba).convert("L"))
            got = _composite_gray(rgba, pixels[..., 3], np.asarray(rgba.convert("L")), sheet)
            assert np.array_equal(got, expected.astype(np.float32))


def test_it_applies_the_exif_orientation_of_a_png(mnist):
    upright = place(mnist.x_test[0], canvas=(300, 200), at=(80, 40)).convert("RGBA")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display; a PNG stores it after the pixels
    turned = open_image(encode(upright.transpose(Image.Transpose.ROTATE_90), exif=exif.tobytes()))
    np.testing.assert_array_equal(np.asarray(turned.image), np.asarray(upright))


def test_it_refuses_a_damaged_or_truncated_png():
    png = encode(Image.effect_noise((120, 90), 60).convert("RGBA"))
    # Stored (uncompressed): a flipped pixel still inflates, and only checksums catch it.
    stored = encode(Image.effect_noise((120, 90), 60).convert("RGBA"), compress_level=0)
    pixels, flip = png.index(b"IDAT") + 40, stored.index(b"IDAT") + 400
    for broken in (png[:pixels], png[:pixels] + bytes([png[pixels] ^ 0xFF]) + png[pixels + 1:],
                   stored[:flip] + bytes([stored[flip] ^ 0x01]) + stored[flip + 1:]):
        with pytest.raises(ImageDecodeError, match="damaged or truncated"):
            decode_image(broken)


def test_it_refuses_a_damaged_chunk_after_the_pixels():
    png = encode(Image.effect_noise((40, 30), 60).convert("RGBA"))
    end = png.index(b"IEND") - 4
    after = png[:end] + _chunk(b"pHYs", b"\0\0\0\1") + png[end:]  # Pillow reads it, and finds it short
    with pytest.raises(ImageDecodeError, match="damaged or truncated"):
        decode_image(after)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _huge_webp(side: int = 6000) -> bytes:
    """A few KB of lossless WebP that decodes to side x side pixels."""
    image = Image.new("L", (side, side), 255)
    ImageDraw.Draw(image).line((side // 3, side // 4, side * 2 // 3, side // 4, side // 2, side * 3 // 4),
                               fill=0, width=side // 40)
    return encode(image, "WEBP", lossless=True)


def test_a_tiny_file_of_too_many_pixels_is_refused_from_its_header():
    webp = _huge_webp()
    assert len(webp) < 10_000
    for read in (check_image, decode_image):
        with pytest.raises(TooManyPixels, match=r"too many pixels: 6000 x 6000, at most \d+ million"):
            read(webp)


def test_the_upload_check_reads_headers_and_never_decodes_pixels(monkeypatch):
    images = {fmt: encode(Image.new("RGB", (300, 200), (200, 10, 10)), fmt)
              for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP")}

    def no_decoding(self):
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert {fmt: check_image(data) for fmt, data in images.items()} == {fmt: fmt for fmt in images}


def test_a_jpeg_of_many_pixels_is_decoded_at_a_reduced_scale_not_refused():
    photo = encode(Image.linear_gradient("L").resize((12000, 9000)), "JPEG", quality=50)
    assert check_image(photo) == "JPEG"
    gray, original = decode_image(photo)
    assert original == (9000, 12000) and max(gray.shape) == WORK_MAX_SIDE


def test_a_sound_header_over_a_damaged_body_passes_the_check_and_fails_the_decode():
    jpeg = encode(Image.effect_noise((400, 300), 60), "JPEG")
    cut = jpeg[: len(jpeg) // 2]
    assert check_image(cut) == "JPEG"
    with pytest.raises(ImageDecodeError, match="damaged or truncated"):
        decode_image(cut)


@pytest.fixture
def decodes_at_once():
    yield decoding.set_max_concurrent_decodes
    decoding.set_max_concurrent_decodes(2)


def test_no_more_than_the_set_number_of_images_decode_at_once(monkeypatch, decodes_at_once):
    decodes_at_once(2)
    running, most, lock = 0, 0, threading.Lock()
    real_open = decoding.open_image

    def slow_open(data, *args):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.05)
            return real_open(data, *args)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(decoding, "open_image", slow_open)
    png = encode(Image.new("L", (50, 50), 255))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(decode_image, [png] * 16))
    assert most == 2
