import numpy as np
import pytest
from PIL import Image, ImageDraw

from ml.ink import NoDigitFound
from ml.preprocessing import to_model_input
from ml.segmentation import segment_digits
from tests.images import assert_mnist_shaped, encode, line_of, similarity


@pytest.mark.parametrize("length", [2, 3, 4, 5, 6])
def test_it_finds_each_digit_of_a_line_left_to_right(mnist, length):
    picks = list(range(10 * length, 11 * length))
    image = line_of([mnist.x_test[i] for i in picks])
    digits = segment_digits(encode(image))
    assert len(digits) == length
    lefts = [d.box[0] for d in digits]
    assert lefts == sorted(lefts)
    for digit, index in zip(digits, picks):
        # Each digit is normalised as MNIST was, and looks like the same digit written
        # alone (the line's threshold may differ, so strokes may be thicker or shifted).
        assert_mnist_shaped(digit.pixels)
        alone = to_model_input(encode(line_of([mnist.x_test[index]]))).pixels
        assert similarity(digit.pixels, alone) > 0.6


def test_it_reads_a_line_in_either_polarity(mnist):
    digits = [mnist.x_test[i] for i in (3, 4, 5)]
    dark = segment_digits(encode(line_of(digits, ink=0, paper=255)))
    light = segment_digits(encode(line_of(digits, ink=255, paper=0)))
    assert [d.box for d in dark] == [d.box for d in light]


def _broken_five_and_seven() -> Image.Image:
    """A 5 whose top bar and a 7 whose top stroke were lifted off the paper."""
    image = Image.new("L", (360, 200), 255)
    draw = ImageDraw.Draw(image)
    # 5: the bar is a separate stroke above the body.
    draw.line([(60, 40), (130, 40)], fill=0, width=10)
    draw.line([(62, 52), (58, 95)], fill=0, width=10)
    draw.arc((45, 80, 135, 165), start=-120, end=150, fill=0, width=10)
    # 7: the top stroke does not touch the descender.
    draw.line([(210, 40), (300, 40)], fill=0, width=10)
    draw.line([(298, 55), (240, 165)], fill=0, width=10)
    return image


def test_it_joins_the_pieces_of_a_broken_stroke():
    digits = segment_digits(encode(_broken_five_and_seven()))
    assert len(digits) == 2
    assert digits[0].box[0] < 70 and digits[1].box[0] > 200


def _one_five_one_with_the_bar_off_to_the_right() -> Image.Image:
    """1 5 1, the 5 written small, its bar drawn apart and reaching well to the right."""
    image = Image.new("L", (490, 240), 255)
    draw = ImageDraw.Draw(image)
    draw.line([(70, 50), (62, 180)], fill=0, width=10)
    draw.line([(162, 105), (159, 135)], fill=0, width=10)
    draw.arc((150, 120, 195, 185), start=-120, end=150, fill=0, width=10)
    draw.line([(170, 88), (318, 82)], fill=0, width=10)
    draw.line([(402, 50), (394, 180)], fill=0, width=10)
    return image


def test_it_joins_a_bar_drawn_apart_and_off_to_the_right(engine):
    digits = engine.prepare([encode(_one_five_one_with_the_bar_off_to_the_right())], mode="number")[0]
    assert len(digits) == 3


def test_a_digit_in_two_tall_pieces_on_a_line_of_its_own_stays_one_digit(engine):
    # A 5 whose bowl was drawn apart from its bar and stem: both pieces set the line's
    # height, and together they are wider than it.
    image = Image.new("L", (300, 260), 255)
    draw = ImageDraw.Draw(image)
    draw.line([(92, 60), (150, 60)], fill=0, width=10)
    draw.line([(92, 60), (88, 120)], fill=0, width=10)
    draw.arc((60, 104, 180, 200), start=-100, end=140, fill=0, width=10)
    assert engine.recognize(encode(image), mode="number").text == "5"


def test_it_splits_digits_that_touch(mnist):
    # Two digits written so close that their strokes run into each other.
    image = line_of([mnist.x_test[3], mnist.x_test[2]], gap=-4)
    assert len(segment_digits(encode(image))) == 2


def test_it_keeps_a_wide_zero_whole():
    image = Image.new("L", (400, 200), 255)
    ImageDraw.Draw(image).ellipse((60, 50, 330, 150), outline=0, width=12)
    assert len(segment_digits(encode(image))) == 1


def test_it_says_no_digit_found_for_an_empty_line():
    with pytest.raises(NoDigitFound):
        segment_digits(encode(Image.new("L", (600, 120), 250)))


def test_it_returns_boxes_in_original_pixels(mnist):
    image = line_of([mnist.x_test[i] for i in (1, 2)], height=400, gap=100, margin=50)
    digits = segment_digits(encode(image))
    assert len(digits) == 2
    x, y, w, h = digits[0].box
    # Within one MNIST pixel (20 px at this size): faint edge rows are not ink.
    assert abs(x - 50) < 25 and abs(y - 50) < 25 and abs(h - 400) < 45
    assert np.all([d.pixels.shape == (28, 28) for d in digits])


def test_it_keeps_a_digit_written_fainter_than_the_rest(mnist):
    """A line fading to one side (a pen running dry, light falling off): its last digit has
    no pixel as dark as the ink threshold the others set, and it is still a digit."""
    picks = [mnist.x_test[i] for i in (3, 4, 5, 6)]
    ink = np.asarray(line_of(picks, ink=255, paper=0), np.float32)  # ink strength, 0-255
    inked = np.flatnonzero(ink.any(axis=0))
    last = inked[np.flatnonzero(np.diff(inked) > 1)[-1] + 1]  # where the last digit starts
    ink[:, last:] *= 0.55
    digits = segment_digits(encode(Image.fromarray((255 - ink).astype(np.uint8), "L")))
    assert len(digits) == 4
    assert digits[3].box[0] >= last
    assert_mnist_shaped(digits[3].pixels)


def test_a_faint_smudge_beside_a_line_is_no_digit(mnist):
    picks = [mnist.x_test[i] for i in (3, 4, 5)]
    sheet = np.asarray(line_of(picks), np.float32)
    sheet[56:70, 6:20] = 120  # a faint smudge in the margin, small beside a digit
    assert len(segment_digits(encode(Image.fromarray(sheet.astype(np.uint8), "L")))) == 3
