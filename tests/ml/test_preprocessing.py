import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageOps

from ml.decoding import ImageDecodeError, check_image, decode_image, open_image
from ml.ink import NoDigitFound
from ml.preprocessing import to_model_input
from tests.images import assert_mnist_shaped, drawn_canvas, encode, ink_crop, place, similarity

SEVEN = [[(70, 60), (200, 60), (120, 230)]]


def _digit(mnist, index=0):
    return mnist.x_test[index]


def test_it_turns_an_mnist_digit_into_nearly_the_same_digit(mnist):
    scores = [similarity(to_model_input(mnist.x_test[i]).pixels, mnist.x_test[i]) for i in range(50)]
    assert np.median(scores) > 0.85


def test_it_centres_a_digit_drawn_in_a_corner(mnist):
    centred = to_model_input(encode(place(_digit(mnist), canvas=(400, 400), at=(140, 140)))).pixels
    corner = to_model_input(encode(place(_digit(mnist), canvas=(400, 400), at=(5, 270)))).pixels
    assert_mnist_shaped(corner)
    assert similarity(centred, corner) > 0.95


def test_it_reads_light_ink_on_a_dark_board_like_dark_ink_on_paper(mnist):
    dark_on_light = to_model_input(encode(place(_digit(mnist), ink=20, paper=240))).pixels
    light_on_dark = to_model_input(encode(place(_digit(mnist), ink=235, paper=30))).pixels
    assert similarity(dark_on_light, light_on_dark) > 0.95


def test_it_reads_coloured_paper_and_ink(mnist):
    gray = place(_digit(mnist), ink=0, paper=255)
    coloured = ImageOps.colorize(gray, black=(20, 30, 140), white=(250, 240, 200))
    assert similarity(to_model_input(encode(gray)).pixels, to_model_input(encode(coloured)).pixels) > 0.95


@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255), (200, 30, 30)])
def test_it_reads_a_canvas_with_a_transparent_background(colour):
    transparent = to_model_input(encode(drawn_canvas(SEVEN, colour=colour))).pixels
    opaque = to_model_input(encode(drawn_canvas(SEVEN, transparent=False))).pixels
    assert_mnist_shaped(transparent)
    assert similarity(transparent, opaque) > 0.95


def test_it_enlarges_a_tiny_digit_into_the_20_pixel_box(mnist):
    digit = to_model_input(encode(place(_digit(mnist), canvas=(600, 600), at=(400, 50), height=14)))
    assert_mnist_shaped(digit.pixels)
    x, y, w, h = digit.box
    assert abs(x - 400) <= 3 and abs(y - 50) <= 3 and 10 <= h <= 17


def test_it_reports_boxes_in_the_pixels_of_a_huge_image(mnist):
    image = place(_digit(mnist), canvas=(3000, 2500), at=(2000, 1000), height=900)
    digit = to_model_input(encode(image))
    assert_mnist_shaped(digit.pixels)
    x, y, w, h = digit.box
    assert abs(x - 2000) < 30 and abs(y - 1000) < 30 and abs(h - 900) < 40


def test_it_ignores_sensor_noise_and_uneven_light(mnist):
    clean = place(_digit(mnist), canvas=(300, 300), at=(60, 80), ink=30, paper=230)
    sheet = np.asarray(clean, np.float32)
    rng = np.random.default_rng(0)
    ramp = np.linspace(1.0, 0.6, sheet.shape[1])[None, :]
    noisy = np.clip(sheet * ramp + rng.normal(0, 20, sheet.shape), 0, 255).astype(np.uint8)
    assert similarity(to_model_input(encode(clean)).pixels,
                      to_model_input(encode(Image.fromarray(noisy))).pixels) > 0.85


def test_it_survives_heavy_jpeg_compression(mnist):
    image = place(_digit(mnist), ink=10, paper=245)
    assert similarity(to_model_input(encode(image)).pixels,
                      to_model_input(encode(image, "JPEG", quality=15)).pixels) > 0.9


def test_it_thickens_a_hairline_to_an_mnist_stroke():
    hairline = to_model_input(encode(drawn_canvas(SEVEN, size=(600, 600), width=1, transparent=False)))
    brush = to_model_input(encode(drawn_canvas(SEVEN, size=(600, 600), width=12, transparent=False)))
    assert similarity(hairline.pixels, brush.pixels) > 0.85
    # Left alone, a 1 px line scaled down ninefold would all but vanish.
    assert (hairline.pixels > 127).mean() > 0.7 * (brush.pixels > 127).mean()


@pytest.mark.parametrize("name, image", [
    ("white canvas", Image.new("L", (280, 280), 255)),
    ("transparent canvas", Image.new("RGBA", (280, 280), (0, 0, 0, 0))),
    ("black board", Image.new("L", (400, 300), 12)),
    ("faint smudge", Image.fromarray(np.pad(np.full((30, 30), 245, np.uint8), 125, constant_values=250))),
    ("gradient paper", Image.fromarray(np.tile(np.linspace(150, 250, 400), (300, 1)).astype(np.uint8))),
    ("noisy paper", Image.fromarray(np.clip(np.random.default_rng(1).normal(200, 12, (300, 300)), 0, 255)
                                   .astype(np.uint8))),
])
def test_it_says_no_digit_found_for_a_blank_image(name, image):
    with pytest.raises(NoDigitFound):
        to_model_input(encode(image))


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
    ("truncated jpeg", encode(Image.effect_noise((200, 200), 60), "JPEG")[:400]),
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


def test_it_reads_a_1x5000_sliver_without_error():
    with pytest.raises(NoDigitFound):
        to_model_input(encode(Image.new("L", (1, 5000), 255)))


def test_it_reads_16_bit_grayscale(mnist):
    gray = np.asarray(place(_digit(mnist)), np.uint16) * 257
    sixteen = Image.fromarray(gray.astype(np.uint16))
    assert sixteen.mode.startswith("I")
    reference = to_model_input(encode(place(_digit(mnist)))).pixels
    assert similarity(to_model_input(encode(sixteen)).pixels, reference) > 0.97


def test_it_reads_cmyk_jpeg(mnist):
    cmyk = place(_digit(mnist)).convert("RGB").convert("CMYK")
    payload = encode(cmyk, "JPEG", quality=95)
    assert Image.open(io.BytesIO(payload)).mode == "CMYK"
    assert_mnist_shaped(to_model_input(payload).pixels)


def test_it_takes_the_first_frame_of_an_animated_gif(mnist):
    first = place(_digit(mnist, 0)).convert("P")
    second = place(_digit(mnist, 1)).convert("P")
    payload = encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    expected = to_model_input(encode(place(_digit(mnist, 0)))).pixels
    assert similarity(to_model_input(payload).pixels, expected) > 0.95


def test_it_reads_palette_bmp_and_webp(mnist):
    reference = to_model_input(encode(place(_digit(mnist)))).pixels
    for payload in (encode(place(_digit(mnist)).convert("P")), encode(place(_digit(mnist)), "BMP"),
                    encode(place(_digit(mnist)), "WEBP", lossless=True)):
        assert similarity(to_model_input(payload).pixels, reference) > 0.97


def test_it_applies_exif_orientation(mnist):
    upright = place(_digit(mnist), canvas=(300, 200), at=(80, 40))
    # A camera stores the sensor's pixels rotated and says how to turn them back.
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    payload = encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    digit = to_model_input(payload)
    assert similarity(digit.pixels, to_model_input(encode(upright, "JPEG", quality=95)).pixels) > 0.95
    assert digit.box[2] < digit.box[3]  # boxes are in the upright picture's pixels


def test_it_accepts_arrays_as_well_as_bytes(mnist):
    as_array = to_model_input(mnist.x_test[3]).pixels
    as_bytes = to_model_input(encode(Image.fromarray(mnist.x_test[3]))).pixels
    np.testing.assert_array_equal(as_array, as_bytes)
    assert ink_crop(as_array).shape[0] <= 21


# --- The fast path for bare canvases gives exactly what the full computation gives -----------

def _random_canvases(count: int, seed: int = 0):
    """Canvas-like PNGs: strokes of random colour, width and place, on a transparent, white
    or black sheet, some anti-aliased (semi-transparent edges) and some multi-stroke."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    for _ in range(count):
        size = tuple(int(v) for v in rng.integers(120, 700, 2))
        sheet = [(0, 0, 0, 0), (255, 255, 255, 255), (0, 0, 0, 255)][rng.integers(3)]
        ink = (255, 255, 255, 255) if sheet == (0, 0, 0, 255) else tuple(int(v) for v in rng.integers(0, 90, 3)) + (255,)
        scale = 4 if rng.random() < 0.5 else 1  # drawn large and reduced: soft, semi-transparent edges
        image = Image.new("RGBA", (size[0] * scale, size[1] * scale), sheet)
        draw = ImageDraw.Draw(image)
        for _ in range(int(rng.integers(1, 4))):
            points = [tuple(int(v) for v in rng.integers(0, min(size) * scale, 2)) for _ in range(3)]
            draw.line(points, fill=ink, width=int(rng.integers(2, 30)) * scale, joint="curve")
        if scale > 1:
            image = image.resize(size, Image.LANCZOS)
        yield encode(image)


def test_the_fast_path_for_bare_canvases_matches_the_full_computation(monkeypatch):
    from ml import ink

    canvases = list(_random_canvases(150))
    window = ink._find_ink_in_window
    taken = []
    monkeypatch.setattr(ink, "_find_ink_in_window", lambda *args: taken.append(window(*args)) or taken[-1])
    fast = [_outcome(to_model_input, png) for png in canvases]
    assert sum(found is not None for found in taken) > 100  # the fast path answered most of them
    monkeypatch.setattr(ink, "_find_ink_in_window", lambda *args: None)  # always the full path
    full = [_outcome(to_model_input, png) for png in canvases]
    assert fast == full
    assert sum(isinstance(o, tuple) for o in fast) > 100  # mostly real digits, not all "no digit"


def test_compositing_only_the_semi_transparent_pixels_matches_pillow():
    from ml.decoding import _composite_gray

    rng = np.random.default_rng(1)
    for _ in range(50):
        pixels = rng.integers(0, 256, (40, 60, 4), dtype=np.uint8)
        pixels[..., 3] = rng.choice([0, 255, 128, 1, 254], size=(40, 60), p=[0.5, 0.35, 0.05, 0.05, 0.05])
        rgba = Image.fromarray(pixels, "RGBA")
        for sheet in ((255, 255, 255, 255), (0, 0, 0, 255)):
            expected = np.asarray(Image.alpha_composite(Image.new("RGBA", rgba.size, sheet), rgba).convert("L"))
            got = _composite_gray(rgba, pixels[..., 3], np.asarray(rgba.convert("L")), sheet)
            assert np.array_equal(got, expected.astype(np.float32))


# --- PNGs: EXIF after the pixels, and damage Pillow refuses ------------------------------------

def test_it_applies_the_exif_orientation_of_a_png(mnist):
    upright = place(_digit(mnist), canvas=(300, 200), at=(80, 40)).convert("RGBA")
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


def _outcome(function, png: bytes):
    try:
        digit = function(png)
    except (NoDigitFound, ImageDecodeError) as exc:
        return type(exc).__name__
    return digit.pixels.tobytes(), tuple(digit.box)
