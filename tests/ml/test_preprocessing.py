import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from ml.ink import NoDigitFound
from ml.preprocessing import rendered, to_model_input
from tests.images import assert_mnist_shaped, drawn_canvas, encode, ink_crop, place, similarity

SEVEN = [[(70, 60), (200, 60), (120, 230)]]


def _digit(mnist, index=0):
    return mnist.x_test[index]


def test_an_mnist_digit_re_rendered_is_nearly_the_same_digit(mnist):
    scores = [similarity(rendered(mnist.x_test[i]).pixels, mnist.x_test[i]) for i in range(50)]
    assert np.median(scores) > 0.85


def test_an_upload_that_already_is_model_input_is_served_as_it_is(mnist):
    for digit in mnist.x_test[:200]:
        as_png = encode(Image.fromarray(digit))
        assert np.array_equal(to_model_input(as_png).pixels, digit)
        assert np.array_equal(to_model_input(encode(Image.fromarray(255 - digit))).pixels, digit)
        assert np.array_equal(to_model_input(digit).pixels, digit)


def test_a_28x28_digit_not_normalised_the_mnist_way_is_rendered(mnist):
    digit = mnist.x_test[0]
    shifted = np.roll(digit, (-3, 2), axis=(0, 1))  # off centre
    small = np.zeros_like(digit)
    small[9:19, 9:19] = np.asarray(Image.fromarray(digit[4:24, 4:24]).resize((10, 10)))  # a 10 px box
    faint = (digit // 3).astype(np.uint8)
    for image in (shifted, small, faint):
        pixels = to_model_input(image).pixels
        assert not np.array_equal(pixels, image)
        assert_mnist_shaped(pixels)


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


def test_a_shadow_across_a_wide_short_photo_is_not_ink(mnist):
    # A shade darkening the top of a 560x140 photo: with three background tiles across its
    # height, the shade was taken for ink, and the digit became a blob.
    clean = place(_digit(mnist), canvas=(560, 140), at=(200, 25), height=80, ink=40, paper=225)
    sheet = np.asarray(clean, np.float32) * np.linspace(0.6, 1.0, 140)[:, None]
    digit = to_model_input(encode(Image.fromarray(sheet.astype(np.uint8))))
    x, y, w, h = digit.box
    assert abs(y - 25) < 8 and abs(h - 80) < 12 and 180 < x < 230
    assert similarity(digit.pixels, to_model_input(encode(clean)).pixels) > 0.85


def _ruled(size: tuple[int, int], step: int, squared: bool, strength: float = 0.35) -> np.ndarray:
    """Ink coverage of ruled (or squared) paper: lines across the whole sheet."""
    alpha = np.zeros((size[1], size[0]), np.float32)
    alpha[step // 2 :: step] = strength
    if squared:
        alpha[:, step // 2 :: step] = strength
    return alpha


@pytest.mark.parametrize("size, squared", [((400, 300), False), ((300, 400), True), ((100, 740), True)])
def test_ruled_and_squared_paper_alone_is_no_digit(size, squared):
    sheet = 235 * (1 - _ruled(size, 24, squared)) + 90 * _ruled(size, 24, squared)
    for data in (encode(Image.fromarray(sheet.astype(np.uint8))),
                 encode(Image.fromarray(sheet.astype(np.uint8)), "JPEG", quality=60)):
        with pytest.raises(NoDigitFound):
            to_model_input(data)


def test_a_digit_on_squared_paper_is_read_without_the_lines(mnist):
    clean = place(_digit(mnist), canvas=(400, 300), at=(150, 90), height=120, ink=20, paper=235)
    lines = _ruled((400, 300), 24, squared=True)
    sheet = np.asarray(clean, np.float32) * (1 - lines) + 90 * lines
    digit = to_model_input(encode(Image.fromarray(np.clip(sheet, 0, 255).astype(np.uint8))))
    x, y, w, h = digit.box
    assert abs(y - 90) < 8 and abs(h - 120) < 12
    assert similarity(digit.pixels, to_model_input(encode(clean)).pixels) > 0.85


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
