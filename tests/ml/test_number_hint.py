"""Single-digit mode given several digits says so: the number they read as (issue 15, item 6);
and what a number makes of a mark that is no digit."""
import numpy as np

from ml import negatives, pen
from ml.inference import NUMBER_HINT_ASPECT
from ml.preprocessing import to_model_input
from tests.images import encode, line_of, place


def test_a_line_of_digits_in_single_digit_mode_carries_its_number_reading(engine, mnist):
    picks = [1, 2, 3, 4, 5]
    png = encode(line_of([mnist.x_test[i] for i in picks]))

    result = engine.recognize_many([png], mode="digit")[0]

    number = engine.recognize(png, mode="number")
    assert number.text == "".join(str(mnist.y_test[i]) for i in picks)
    assert result.number_hint == number.text  # on a Recognition, or on a NotADigit
    assert number.number_hint == ""  # number mode needs no hint


def test_two_narrow_digits_side_by_side_are_a_number(engine, mnist):
    # Two MNIST 1s, side by side: no wider than tall, found by their separate pieces.
    png = encode(line_of([mnist.x_test[2], mnist.x_test[5]], gap=15))
    _, _, width, height = to_model_input(png).box
    assert width < NUMBER_HINT_ASPECT * height

    assert engine.recognize_many([png])[0].number_hint == "11"


def test_one_digit_has_no_number_hint_even_when_wide(engine, mnist):
    plain = engine.recognize(encode(place(mnist.x_test[0])))
    wide_zero = encode(place(mnist.x_test[3]).resize((560, 280)))
    _, _, width, height = to_model_input(wide_zero).box

    assert plain.number_hint == "" and plain.text == str(mnist.y_test[0])
    assert width >= NUMBER_HINT_ASPECT * height  # segmented, and found to be one digit
    assert engine.recognize(wide_zero).number_hint == ""


def test_a_letter_as_tall_as_the_digits_beside_it_is_left_out_or_flagged(engine, mnist):
    """Inside a number a mark the size of its digits is read unless surely no digit; a
    letter is, and is left out, or at worst flagged doubtful: never read silently."""
    rng = np.random.default_rng(0)
    letters, left_out = ["A", "E", "F", "K", "M", "N", "R", "W", "X"], 0
    for letter in letters:
        glyph = (255 * pen.draw(negatives._LETTERS[letter], rng, aspect=0.75)).astype(np.uint8)
        png = encode(line_of([mnist.x_test[1], glyph, mnist.x_test[2]]))
        result = engine.recognize(png, mode="number")
        sure = "".join(str(d.digit) for d in result.digits if not d.doubtful)
        assert sure == f"{mnist.y_test[1]}{mnist.y_test[2]}", letter
        assert len(result.left_out) == 1 or result.not_sure, letter
        left_out += len(result.left_out)
    assert left_out >= len(letters) - 1  # the shipped model leaves out all nine
