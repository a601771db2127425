"""The generated sets: styles, non-digits and the evaluation sets' tuning and measuring parts."""
import io
import json

import numpy as np
from PIL import Image

from ml import evalsets, negatives, pagegen, styles, synthetic


def _fake_test_split():
    """A stand-in for MNIST test whose tuning-part digits are all labelled 0 and measuring-part 6."""
    from tests.images import drawn_canvas

    ones = np.asarray(drawn_canvas([[(14, 4), (14, 24)]], size=(28, 28), width=3, transparent=False).convert("L"))
    x = np.repeat((255 - ones)[None], 10000, axis=0)
    y = np.where(np.arange(10000) < 5000, 0, 6).astype(np.uint8)
    return x, y


def test_it_makes_every_style_with_the_digit_it_draws(mnist):
    samples = styles.style_digits(mnist.x_train[:500], mnist.y_train[:500], 2 * len(styles.STYLES), seed=1)
    assert [s.kind for s in samples] == list(styles.STYLES) * 2
    fixed = {"one_flag_base": "1", "seven_crossed": "7", "four_open": "4", "nine_straight": "9"}
    for sample in samples:
        assert sample.label == fixed.get(sample.kind, sample.label) and sample.label.isdigit()
        if sample.kind == "tall_zero_six":
            assert sample.label in ("0", "6")
        Image.open(io.BytesIO(sample.data)).verify()


def test_it_makes_non_digits_of_every_kind():
    samples = negatives.non_digits(2 * len(negatives.KINDS), seed=3)
    assert [s.kind for s in samples] == list(negatives.KINDS) * 2
    assert len(negatives.KINDS) >= 6
    assert {s.label for s in samples} == {synthetic.NOT_A_DIGIT}
    for sample in samples:
        Image.open(io.BytesIO(sample.data)).verify()


def test_generators_are_repeatable_from_their_seed(mnist):
    x, y = mnist.x_test[:200], mnist.y_test[:200]
    assert [s.data for s in negatives.non_digits(8, seed=5)] == [s.data for s in negatives.non_digits(8, seed=5)]
    assert [s.data for s in negatives.non_digits(8, seed=5)] != [s.data for s in negatives.non_digits(8, seed=6)]
    assert [s.data for s in styles.style_digits(x, y, 8, seed=5)] == [s.data for s in styles.style_digits(x, y, 8, seed=5)]
    assert [s.data for s in synthetic.digit_lines(x, y, 3, seed=5)] == [s.data for s in synthetic.digit_lines(x, y, 3, seed=5)]


def test_a_line_names_the_digits_it_draws_left_to_right(mnist):
    x, y = mnist.x_test[:200], mnist.y_test[:200]
    sources = []
    lines = synthetic.digit_lines(x, y, 6, seed=5, sources=sources)
    assert [line.label for line in lines] == ["".join(str(y[i]) for i in picks) for picks in sources]
    assert [line.data for line in lines] == [line.data for line in synthetic.digit_lines(x, y, 6, seed=5)]


def test_tuning_and_measuring_parts_draw_on_disjoint_digits_and_seeds():
    tune, measure = evalsets.source_indices(evalsets.TUNE), evalsets.source_indices(evalsets.MEASURE)
    assert not set(tune) & set(measure) and len(tune) + len(measure) == 10000
    assert evalsets.PARTS[evalsets.TUNE][2] != evalsets.PARTS[evalsets.MEASURE][2]
    x, y = _fake_test_split()
    for name in ("singles", "lines", "styles"):
        tuned = evalsets.make_set(name, x, y, evalsets.TUNE, 8)
        measured = evalsets.make_set(name, x, y, evalsets.MEASURE, 8)
        # Pen-drawn styles have their own digit; every other image shows its part's digits.
        own = ("one_flag_base", "seven_crossed", "four_open", "nine_straight")
        assert set("".join(s.label for s in tuned if s.kind not in own)) == {"0"}
        assert set("".join(s.label for s in measured if s.kind not in own)) == {"6"}
    tune_negatives = [s.data for s in evalsets.make_set("non_digits", x, y, evalsets.TUNE, 8)]
    assert tune_negatives != [s.data for s in evalsets.make_set("non_digits", x, y, evalsets.MEASURE, 8)]


def test_it_writes_a_part_once_and_reuses_it(tmp_path, mnist):
    counts = {"singles": 3, "lines": 2, "styles": 8, "non_digits": 8}
    paths = evalsets.ensure(mnist.x_test, mnist.y_test, tmp_path, evalsets.MEASURE, counts)
    rows = (paths["non_digits"] / "labels.csv").read_text().splitlines()
    assert rows[0] == "file,label,kind" and len(rows) == 9
    assert {row.split(",")[2] for row in rows[1:]} == set(negatives.KINDS)
    assert json.loads((tmp_path / "measure" / "manifest.json").read_text())["counts"] == counts
    stamp = (paths["singles"] / "labels.csv").stat().st_mtime_ns
    evalsets.ensure(mnist.x_test, mnist.y_test, tmp_path, evalsets.MEASURE, counts)
    assert (paths["singles"] / "labels.csv").stat().st_mtime_ns == stamp


def test_it_makes_pages_of_two_to_five_lines_of_one_to_eight_digits_from_its_parts_digits(tmp_path):
    x, y = _fake_test_split()
    folder = evalsets.ensure_pages(x, y, tmp_path, evalsets.MEASURE, count=6)
    rows = [row.split(",") for row in (folder / "labels.csv").read_text().splitlines()[1:]]
    assert len(rows) == 6
    for name, label, _ in rows:
        lines = label.split(" ")
        assert 2 <= len(lines) <= 5 and all(1 <= len(line) <= 8 and line.isdigit() for line in lines)
        # Pen-drawn styles bring their own digit; the rest are the measuring part's 6s.
        assert set(label.replace(" ", "")) <= {"6", "1", "7", "4", "9"}
        Image.open(folder / name).verify()
    stamp = (folder / "labels.csv").stat().st_mtime_ns
    evalsets.ensure_pages(x, y, tmp_path, evalsets.MEASURE, count=6)
    assert (folder / "labels.csv").stat().st_mtime_ns == stamp
    assert [s.data for s in pagegen.digit_pages(x, y, 2, seed=5)] == [s.data for s in pagegen.digit_pages(x, y, 2, seed=5)]
