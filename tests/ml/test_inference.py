import json
import shutil

import numpy as np
import pytest

from ml.artifact import ArtifactError, load_metadata
from ml.decoding import ImageDecodeError
from ml.inference import Engine, Recognition, get_engine
from ml.ink import NoDigitFound
from PIL import Image
from tests.images import encode, line_of, place


@pytest.mark.parametrize("batch", [0, 1, 7, 1500])
def test_it_answers_batches_of_any_size(engine, mnist, batch):
    probs = engine.probabilities(mnist.x_test[:batch])
    assert probs.shape == (batch, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)


def test_it_recognises_a_drawn_digit_with_ten_probabilities(engine, mnist):
    result = engine.recognize(encode(place(mnist.x_test[0])))
    assert isinstance(result, Recognition)
    assert result.text == str(mnist.y_test[0])
    assert len(result.digits[0].probabilities) == 10
    assert result.digits[0].pixels.shape == (28, 28)
    assert 0.5 < result.confidence <= 1.0
    assert result.model_version == engine.version


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
