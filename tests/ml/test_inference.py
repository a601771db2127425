import json
import shutil

import numpy as np
import pytest

from ml.artifact import ArtifactError, load_metadata
from ml.calibration import Calibration
from ml.decoding import ImageDecodeError
from ml.inference import Engine, NotADigit, Recognition, answer, get_engine, number_hint
from ml.ink import NoDigitFound
from ml.preprocessing import Digit
from PIL import Image
from tests.images import drawn_canvas, encode, line_of, place

# Drawn on a 280x280 canvas as the draw page sends it: things that are no digit.
SCRIBBLE = [[(40, 140), (80, 60), (110, 200), (150, 50), (180, 210), (215, 70), (245, 190)],
            [(60, 100), (230, 170), (70, 220), (200, 40)]]
STAR = [[(140, 30), (165, 105), (245, 105), (180, 150), (205, 230), (140, 182), (75, 230), (100, 150),
         (35, 105), (115, 105), (140, 30)]]


@pytest.mark.parametrize("batch", [0, 1, 7, 1500])
def test_it_answers_batches_of_any_size(engine, mnist, batch):
    probs = engine.probabilities(mnist.x_test[:batch])
    assert probs.shape == (batch, 11)  # digits 0-9, then "not a digit", before calibration
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)


def test_it_recognises_a_drawn_digit_with_ten_probabilities(engine, mnist):
    result = engine.recognize(encode(place(mnist.x_test[0])))
    assert isinstance(result, Recognition)
    assert result.text == str(mnist.y_test[0])
    assert len(result.digits[0].probabilities) == 10
    assert result.digits[0].pixels.shape == (28, 28)
    assert 0.5 < result.confidence <= 1.0
    assert result.model_version == engine.version


def test_a_28x28_mnist_upload_gets_the_answer_of_its_raw_pixels(engine, mnist):
    digits = mnist.x_test[:100]
    raw = engine.probabilities(digits)
    served = engine.recognize_many([encode(Image.fromarray(d)) for d in digits])
    for i, result in enumerate(served):
        _, confidences, calibrated = engine.calibration.read(raw[i : i + 1])
        np.testing.assert_allclose(result.digits[0].probabilities, calibrated[0, :10], atol=1e-5)
        assert result.confidence == pytest.approx(confidences[0], abs=1e-5)


def test_it_gives_the_top_three_digits_as_alternatives(engine, mnist):
    digit = engine.recognize(encode(place(mnist.x_test[0]))).digits[0]
    assert [d for d, _ in digit.alternatives][0] == digit.digit and len(digit.alternatives) == 3
    chances = [p for _, p in digit.alternatives]
    assert chances == sorted(chances, reverse=True) and chances[0] == pytest.approx(digit.confidence, abs=1e-6)
    assert [p for _, p in digit.alternatives] == [digit.probabilities[d] for d, _ in digit.alternatives]
    assert sum(digit.probabilities) + digit.not_digit_probability == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("strokes", [SCRIBBLE, STAR], ids=["scribble", "star"])
@pytest.mark.parametrize("mode", ["digit", "number"])
def test_it_answers_not_a_digit_for_a_drawn_scribble_or_star(engine, strokes, mode):
    with pytest.raises(NotADigit) as caught:
        engine.recognize(encode(drawn_canvas(strokes, width=10)), mode=mode)
    assert caught.value.error_code == "not_a_digit" and isinstance(caught.value, NoDigitFound)
    assert 0.0 < caught.value.confidence <= 1.0 and len(caught.value.alternatives) == 3


def test_it_still_reads_a_drawn_digit_on_the_same_canvas(engine):
    seven = [[(70, 50), (210, 50), (120, 240)]]
    result = engine.recognize(encode(drawn_canvas(seven, width=16)))
    assert result.text == "7" and not result.not_sure


def test_it_reads_a_number_left_to_right(engine, mnist):
    picks = [0, 1, 2, 3, 4]
    result = engine.recognize(encode(line_of([mnist.x_test[i] for i in picks])), mode="number")
    assert result.text == "".join(str(mnist.y_test[i]) for i in picks)
    assert result.confidence == pytest.approx(np.prod([d.confidence for d in result.digits]))


def test_one_bad_image_does_not_spoil_a_batch(engine, mnist):
    good = encode(place(mnist.x_test[1]))
    results = engine.recognize_many([good, b"not an image", encode(Image.new("L", (50, 50), 255)), good])
    assert isinstance(results[0], Recognition) and isinstance(results[3], Recognition)
    assert isinstance(results[1], ImageDecodeError)
    assert isinstance(results[2], NoDigitFound)
    assert results[0].text == results[3].text == str(mnist.y_test[1])


def test_it_refuses_an_unknown_mode(engine):
    with pytest.raises(ValueError):
        engine.recognize(b"", mode="letters")


def test_it_refuses_a_corrupt_model_file(tmp_path, engine):
    broken = tmp_path / "broken"
    shutil.copytree(engine.model_dir, broken)
    (broken / "model.keras").write_bytes(b"garbage")
    with pytest.raises(ArtifactError, match="does not match its metadata"):
        Engine(broken)


def test_it_refuses_a_missing_model(tmp_path):
    with pytest.raises(ArtifactError, match="no metadata.json"):
        Engine(tmp_path)


def test_it_loads_once_and_follows_a_new_version(tmp_path, engine):
    copy = tmp_path / "model"
    shutil.copytree(engine.model_dir, copy)
    first = get_engine(copy)
    assert get_engine(copy) is first
    metadata = load_metadata(copy)
    metadata["version"] = "relabelled"
    (copy / "metadata.json").write_text(json.dumps(metadata))
    second = get_engine(copy)
    assert second is not first and second.version == "relabelled"


def test_concurrent_callers_each_get_their_own_answers(engine, mnist):
    from concurrent.futures import ThreadPoolExecutor

    chunks = [mnist.x_test[i * 7 : i * 7 + 1 + i % 5] for i in range(40)]
    expected = [engine._run(chunk) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(engine.probabilities, chunks))
    for got, want in zip(results, expected):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_a_closed_engine_stops_its_batching_thread(tmp_path, engine):
    import threading

    copy = Engine(engine.model_dir)
    name = f"model-{copy.version}-0"
    before = sum(t.name == name for t in threading.enumerate())
    copy.close()
    for thread in threading.enumerate():
        if thread.name == name and thread is not threading.current_thread():
            thread.join(timeout=0.2)
    assert sum(t.name == name for t in threading.enumerate()) < before


def _scores(*classes: int, sure: float = 0.9) -> np.ndarray:
    """Raw scores, one row per mark, each ``sure`` on its class (10: not a digit)."""
    rows = np.full((len(classes), 11), (1 - sure) / 10)
    rows[np.arange(len(classes)), classes] = sure
    return rows


def _marks(count: int) -> list[Digit]:
    return [Digit(pixels=np.zeros((28, 28), np.uint8), box=(40 * i, 0, 30, 40)) for i in range(count)]


def test_a_mark_that_is_no_digit_is_left_out_of_a_number():
    result = answer(_marks(3), _scores(4, 10, 2), mode="number", calibration=Calibration(), model_version="v")
    assert result.text == "42" and result.left_out == [(40, 0, 30, 40)]
    # The whole answer is right only if each mark was read right, the left-out one included.
    assert result.confidence == pytest.approx(0.9 ** 3)


def test_a_number_of_marks_that_are_no_digits_is_not_a_digit():
    result = answer(_marks(2), _scores(10, 10), mode="number", calibration=Calibration(), model_version="v")
    assert isinstance(result, NotADigit) and result.confidence == pytest.approx(0.81)


def _doubtful_two() -> np.ndarray:
    """Raw scores of a mark read as 2 at 0.65 that is no digit at 0.3."""
    row = np.full(11, 0.05 / 9)
    row[2], row[10] = 0.65, 0.3
    return row


def test_a_doubtful_mark_inside_a_number_is_read_and_flags_the_number_not_sure():
    calibration = Calibration(reject_at=0.25)
    scores = np.vstack([_scores(4, sure=0.99), _doubtful_two()])
    result = answer(_marks(2), scores, mode="number", calibration=calibration, model_version="v")
    assert result.text == "42" and result.left_out == []
    assert [d.doubtful for d in result.digits] == [False, True] and result.digits[1].box == (40, 0, 30, 40)
    assert result.not_sure and result.confidence == pytest.approx(0.99 * 0.65)
    # Alone, in digit mode, the same mark is not a digit.
    alone = answer(_marks(1), _doubtful_two()[None], mode="digit", calibration=calibration, model_version="v")
    assert isinstance(alone, NotADigit)


def _unsure_two(none: float) -> np.ndarray:
    """Raw scores of a mark the model calls no digit at ``none``, else most likely a 2."""
    row = np.full(11, 0.02 / 9)
    row[2], row[10] = 0.98 - none, none
    return row


def test_a_mark_as_tall_as_the_digits_is_read_and_flagged_unless_surely_no_digit():
    def read(none: float, height: int):
        marks = [Digit(pixels=np.zeros((28, 28), np.uint8), box=(40 * i, 0, 30, h))
                 for i, h in enumerate([40, height, 44])]
        scores = np.vstack([_scores(4, sure=0.99), _unsure_two(none), _scores(7, sure=0.99)])
        return answer(marks, scores, mode="number", calibration=Calibration(reject_at=0.25), model_version="v")

    kept = read(0.6, 38)
    assert kept.text == "427" and kept.left_out == [] and kept.not_sure
    assert [d.doubtful for d in kept.digits] == [False, True, False]
    assert kept.digits[1].confidence == pytest.approx(0.38) and kept.confidence == pytest.approx(0.99 * 0.38 * 0.99)
    # Surely no digit (a letter), or much shorter than the digits (a dash, a dot): left out.
    for none, height in [(0.95, 38), (0.6, 20)]:
        result = read(none, height)
        assert result.text == "47" and result.left_out == [(40, 0, 30, height)]
        assert result.confidence == pytest.approx(0.99 * none * 0.99)


def test_single_digit_mode_hints_at_a_number_only_of_two_sure_digits():
    def hint(*rows):
        return number_hint(answer(_marks(len(rows)), np.vstack(rows), mode="number",
                                  calibration=Calibration(reject_at=0.25), model_version="v"))

    assert hint(_scores(4, sure=0.99), _scores(2, sure=0.99)) == "42"
    # A sure 4 beside a mark kept as a doubtful 2 (digit-sized, "not a digit" at 0.6): no number.
    assert hint(_scores(4, sure=0.99), _unsure_two(0.6)) == ""
    assert hint(_scores(4, sure=0.99), _scores(10)) == "" and hint(_scores(10), _scores(10)) == ""


def test_a_number_of_doubtful_marks_only_is_not_a_digit():
    scores = np.vstack([_doubtful_two(), _scores(10)])
    result = answer(_marks(2), scores, mode="number", calibration=Calibration(reject_at=0.25), model_version="v")
    assert isinstance(result, NotADigit) and result.confidence == pytest.approx(0.3 * 0.9)


def test_a_number_read_surely_is_sure():
    result = answer(_marks(2), _scores(4, 2, sure=0.99), mode="number", calibration=Calibration(reject_at=0.25),
                    model_version="v")
    assert not any(d.doubtful for d in result.digits) and not result.not_sure


def test_an_answer_below_the_threshold_says_it_is_not_sure():
    calibration = Calibration(not_sure_below=0.95)
    assert answer(_marks(1), _scores(4), mode="digit", calibration=calibration, model_version="v").not_sure
    assert not answer(_marks(1), _scores(4, sure=0.99), mode="digit", calibration=calibration,
                      model_version="v").not_sure
