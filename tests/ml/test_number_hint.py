"""Single-digit mode given several digits says so: the number they read as (issue 15, item 6)."""
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
