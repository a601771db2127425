"""Inference: a model loaded once per process, warmed up, called on batches of any size.

Keras' ``predict()`` builds a data pipeline on every call and costs milliseconds even for
one image, so the engine calls the model through a ``tf.function`` traced once with a
fixed input signature (any batch size, uint8 28x28). The same engine serves the web
process (embedded mode), the Celery workers and the evaluation command.

The model scores eleven classes, digits 0-9 and "not a digit"; the artifact's calibration
(ml/calibration.py) turns them into the answer, its confidence (the probability that it
is right) and the top alternatives.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ml.artifact import METADATA_FILE, MODEL_FILE, ArtifactError, load_metadata
from ml.calibration import Calibration
from ml.decoding import ImageDecodeError
from ml.ink import NoDigitFound
from ml.microbatch import MicroBatcher
from ml.model import NOT_A_DIGIT_CLASS
from ml.pages import PageLine, TooManyLines, find_lines
from ml.preprocessing import Digit, digit_of
from ml.segmentation import segment_digits, segment_ink

# TensorFlow reads this once, when first imported (configure_threads may be first): warnings
# and errors only, not its INFO lines about oneDNN and CPU features on every worker start.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODES = ("digit", "number", "page")
CHUNK = 1024  # largest batch sent through the model at once: bounds memory per call
MAX_MICRO_BATCH = 256  # images gathered from concurrent callers into one model call


ALTERNATIVES = 3

# Single-digit mode also reads the image as a number, to say "this looks like a number",
# only when its ink may be several digits: wider than tall by this much, or in several
# separate pieces. A single digit seldom is either (a wide 0 or 7, a 5 whose bar lifted
# off): for those the extra cost is one segmentation of the ink already found (no second
# decode) and its few model calls; for any other digit it is a comparison of two numbers.
NUMBER_HINT_ASPECT = 1.25


class NotADigit(NoDigitFound):
    """There is ink, but the model reads it as no digit (a scribble, a letter, a shape...).

    A kind of NoDigitFound, so code that knows only that one still answers "no digit";
    ``error_code`` tells the two apart.
    """

    error_code = "not_a_digit"

    def __init__(self, confidence: float, alternatives: list[tuple[int, float]]):
        super().__init__("not a digit")
        self.confidence = confidence  # calibrated probability that there is no digit
        self.alternatives = alternatives  # the likeliest digits all the same (top 3, as in DigitResult)
        self.number_hint = ""  # single-digit mode: the number the image reads as, if it looks like one


@dataclass(frozen=True)
class DigitResult:
    digit: int
    confidence: float  # calibrated: the probability that this digit is right
    probabilities: list[float]  # the ten digits' calibrated probabilities (with not_digit_probability, sum 1)
    box: tuple[int, int, int, int]
    pixels: np.ndarray = field(repr=False)  # the 28x28 input the model saw
    alternatives: list[tuple[int, float]] = field(default_factory=list)  # top 3 (digit, probability)
    not_digit_probability: float = 0.0
    # A mark of a number read as this digit although its not-a-digit score reaches reject_at
    # (ml/calibration.py): it may be no digit, and the answer is not sure.
    doubtful: bool = False


@dataclass(frozen=True)
class LineResult:
    """One line of a page, read as in number mode."""

    digits: list[DigitResult]
    confidence: float  # the chance that the line is right (as a number's)
    box: tuple[int, int, int, int]
    left_out: list[tuple[int, int, int, int]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(str(d.digit) for d in self.digits)


@dataclass(frozen=True)
class Recognition:
    """The answer for one image: one digit in "digit" mode, a left-to-right string in
    "number", lines top to bottom in "page" (``digits`` then holds every line's, in order)."""

    mode: str
    digits: list[DigitResult]
    model_version: str
    # Number mode: the marks read as no digit and left out of the string, as (x, y, w, h).
    left_out: list[tuple[int, int, int, int]] = field(default_factory=list)
    # The chance that the whole answer is right: the product of every mark's confidence in
    # what was made of it (each digit's, and each left-out mark's that it is no digit).
    confidence: float = 0.0
    not_sure_below: float = 0.0  # the artifact's not-sure threshold (ml/calibration.py)
    # Single-digit mode given several digits: their reading as a number ("" otherwise).
    number_hint: str = ""
    lines: list[LineResult] = field(default_factory=list)  # page mode

    @property
    def text(self) -> str:
        if self.mode == "page":
            return "\n".join(line.text for line in self.lines)
        return "".join(str(d.digit) for d in self.digits)

    @property
    def not_sure(self) -> bool:
        return self.confidence < self.not_sure_below or any(d.doubtful for d in self.digits)


def answer(digits: list[Digit], probabilities: np.ndarray, *, mode: str,
           calibration: Calibration, model_version: str) -> Recognition | NotADigit:
    """What to answer for one image's digits, given the model's raw scores for each."""
    in_number = mode != "digit"
    if in_number:
        answers, confidences, calibrated, doubtful = calibration.read_number(
            probabilities, [digit.box[3] for digit in digits])
    else:
        answers, confidences, calibrated = calibration.read(probabilities)
        doubtful = np.zeros(len(answers), bool)
    if in_number and np.all((answers == NOT_A_DIGIT_CLASS) | doubtful):
        # A number with no sure digit among its marks is read as one image is: its
        # doubtful marks are no digit either, so it is not a digit (as in digit mode).
        answers, confidences, calibrated = calibration.read(probabilities)
        doubtful[:] = False
    results, left_out = [], []
    for digit, best, confidence, row, flagged in zip(digits, answers, confidences, calibrated, doubtful):
        top = np.argsort(-row[:NOT_A_DIGIT_CLASS], kind="stable")[:ALTERNATIVES]
        alternatives = [(int(d), round(float(row[d]), 6)) for d in top]
        if best == NOT_A_DIGIT_CLASS:
            left_out.append((digit.box, float(confidence), alternatives))
            continue
        results.append(DigitResult(
            digit=int(best), confidence=float(confidence),
            probabilities=[round(float(v), 6) for v in row[:NOT_A_DIGIT_CLASS]], box=digit.box,
            pixels=digit.pixels, alternatives=alternatives,
            not_digit_probability=round(float(row[NOT_A_DIGIT_CLASS]), 6), doubtful=bool(flagged),
        ))
    if not results:  # nothing digit-like; the alternatives are the likeliest mark's
        _, _, alternatives = min(left_out, key=lambda mark: mark[1])
        return NotADigit(float(np.prod(confidences)), alternatives)
    return Recognition(mode=mode, digits=results, model_version=model_version,
                       left_out=[mark[0] for mark in left_out],
                       confidence=float(np.prod(confidences)), not_sure_below=calibration.not_sure_below)


def number_hint(as_number: Recognition | NotADigit) -> str:
    """What single-digit mode says its image looks like, read as a number: two digits read
    surely or more (a doubtful mark makes no number), else nothing."""
    if isinstance(as_number, Recognition) and sum(not d.doubtful for d in as_number.digits) > 1:
        return as_number.text
    return ""


def answer_page(lines: list[PageLine], probabilities: np.ndarray, *, calibration: Calibration,
                model_version: str) -> Recognition | NotADigit:
    """What to answer for a page, given the model's raw scores for every line's digits in
    order. A line with no digit-like mark (a ruled line, a stray dash) is left out, and the
    page's confidence is the chance that every line, and every left-out mark, is right."""
    read, cursor = [], 0
    for line in lines:
        scores = probabilities[cursor : cursor + len(line.digits)]
        cursor += len(line.digits)
        read.append(answer(line.digits, scores, mode="number", calibration=calibration,
                           model_version=model_version))
    confidence = float(np.prod([result.confidence for result in read]))
    kept = [LineResult(result.digits, result.confidence, line.box, result.left_out)
            for line, result in zip(lines, read) if isinstance(result, Recognition)]
    if not kept:
        return NotADigit(confidence, min(read, key=lambda r: r.confidence).alternatives)
    left_out = []
    for line, result in zip(lines, read):
        left_out += [line.box] if isinstance(result, NotADigit) else result.left_out
    return Recognition(mode="page", digits=[d for line in kept for d in line.digits], lines=kept,
                       model_version=model_version, left_out=left_out, confidence=confidence,
                       not_sure_below=calibration.not_sure_below)


def configure_threads(intra_op: int | None = None, inter_op: int | None = None) -> None:
    """Size TensorFlow's thread pools; must run before TensorFlow executes anything.

    Several worker processes on two cores each wanting two threads thrash; the caller
    (a Celery worker, the web process) knows how many processes share the machine.
    """
    import tensorflow as tf

    try:
        if intra_op:
            tf.config.threading.set_intra_op_parallelism_threads(intra_op)
        if inter_op:
            tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError:
        # Already initialised in this process (e.g. a second engine): the pools stay as set.
        pass


class Engine:
    """A loaded model. Thread-safe: the traced function may be called from many threads."""

    def __init__(self, model_dir: str | Path):
        import keras
        import tensorflow as tf

        self.model_dir = Path(model_dir)
        self.metadata = load_metadata(self.model_dir)
        self.version: str = self.metadata["version"]
        self.calibration = Calibration.from_metadata(self.metadata)
        try:
            model = keras.saving.load_model(self.model_dir / MODEL_FILE, compile=False)
        except Exception as exc:  # noqa: BLE001 - Keras raises many types for a bad file
            raise ArtifactError(f"cannot load {self.model_dir / MODEL_FILE}: {exc}") from exc
        self._model = model
        self._forward = tf.function(
            lambda x: model(x, training=False),
            input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.uint8)],
            reduce_retracing=True,
        )
        # Warm up: the first call traces and lets oneDNN pick its kernels.
        for batch in (1, 32):
            self._forward(np.zeros((batch, 28, 28, 1), np.uint8))
        self._batcher = MicroBatcher(self._run_split, max_size=MAX_MICRO_BATCH, size=len,
                                     name=f"model-{self.version}")

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """(N, 28, 28) uint8 MNIST-style digits -> (N, 11) float32: the model's raw softmax
        scores for digits 0-9 and NOT_A_DIGIT_CLASS, before calibration (an artifact from
        before that class gives 10 columns).

        Calls from several threads at once are micro-batched: whatever is waiting when the
        model becomes free goes through it as one batch. A lone call does not wait for
        company, so batching costs it nothing; under load the model runs fewer, larger
        batches, which is several times cheaper per image.
        """
        pixels = np.asarray(pixels, dtype=np.uint8)
        if pixels.ndim == 2:
            pixels = pixels[None]
        if len(pixels) == 0:
            return np.zeros((0, self.classes), np.float32)
        return self._batcher.submit(pixels)

    @property
    def classes(self) -> int:
        return int(self._model.output_shape[-1])

    def _run(self, pixels: np.ndarray) -> np.ndarray:
        parts = [
            self._forward(pixels[i : i + CHUNK, ..., None]).numpy()
            for i in range(0, len(pixels), CHUNK)
        ]
        return np.concatenate(parts)

    def _run_split(self, batch: list[np.ndarray]) -> list[np.ndarray]:
        """Several callers' images through the model at once; each gets its own rows back."""
        probs = self._run(np.concatenate(batch))
        return np.split(probs, np.cumsum([len(pixels) for pixels in batch])[:-1])

    def close(self) -> None:
        """Stop batching. Callers already queued are answered first; later callers (a
        thread still holding this engine) run unbatched."""
        self._batcher.close()

    def _confidence(self, pixels: np.ndarray) -> np.ndarray:
        # Segmentation keeps a cut or a join that reads more surely as *digits*.
        return self.probabilities(pixels)[:, :NOT_A_DIGIT_CLASS].max(axis=1)

    def prepare(self, images: list[bytes | np.ndarray], *, mode: str = "digit") -> list[
            list[Digit] | Exception]:
        """Each image's digits as the model will see them (a page's, line after line), or
        why it has none."""
        return [item if isinstance(item, Exception) else item[0] for item in self._prepare(images, mode)]

    def prepare_pages(self, images: list[bytes | np.ndarray]) -> list[list[PageLine] | Exception]:
        """Each page's lines, their digits as the model will see them, or why it has none."""
        return [item if isinstance(item, Exception) else item[2] for item in self._prepare(images, "page")]

    def _prepare(self, images: list[bytes | np.ndarray], mode: str) -> list[
            tuple[list[Digit], list[Digit] | None, list[PageLine] | None] | Exception]:
        """Each image's digits; in single-digit mode its digits as a number when the ink
        may be several digits (see NUMBER_HINT_ASPECT); in page mode its lines; or why it
        has none."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        prepared: list[tuple[list[Digit], list[Digit] | None, list[PageLine] | None] | Exception] = []
        for image in images:
            try:
                if mode == "number":
                    prepared.append((segment_digits(image, scorer=self._confidence), None, None))
                    continue
                if mode == "page":
                    lines = find_lines(image, scorer=self._confidence)
                    prepared.append(([d for line in lines for d in line.digits], None, lines))
                    continue
                digit, ink = digit_of(image)
                number = None
                if ink is not None:  # else the image was a 28x28 model input: one digit
                    _, _, width, height = digit.box
                    pieces = int(ink.kept.sum()) if ink.kept is not None else 1
                    if width >= NUMBER_HINT_ASPECT * height or pieces > 1:
                        number = segment_ink(ink, scorer=self._confidence)
                prepared.append(([digit], number if number and len(number) > 1 else None, None))
            except (ImageDecodeError, NoDigitFound, TooManyLines) as exc:
                prepared.append(exc)
        return prepared

    def recognize_many(self, images: list[bytes | np.ndarray], *, mode: str = "digit") -> list[
            Recognition | Exception]:
        """Recognise several images in one pass through the model.

        Each entry is a Recognition, or the ImageDecodeError / NoDigitFound / NotADigit /
        TooManyLines that explains why that image has no answer; one bad image does not
        fail the others. In single-digit mode, an image that reads as a number of two
        digits or more says so in ``number_hint`` (on the Recognition or the NotADigit).
        """
        prepared = self._prepare(images, mode)
        groups = [digits for item in prepared if not isinstance(item, Exception)
                  for digits in item[:2] if digits is not None]
        flat = [d.pixels for digits in groups for d in digits]
        probs = self.probabilities(np.stack(flat)) if flat else np.zeros((0, self.classes), np.float32)
        results: list[Recognition | Exception] = []
        cursor = 0

        def read(digits: list[Digit], as_mode: str) -> Recognition | NotADigit:
            nonlocal cursor
            result = answer(digits, probs[cursor : cursor + len(digits)], mode=as_mode,
                            calibration=self.calibration, model_version=self.version)
            cursor += len(digits)
            return result

        for item in prepared:
            if isinstance(item, Exception):
                results.append(item)
                continue
            digits, number, lines = item
            if lines is not None:
                results.append(answer_page(lines, probs[cursor : cursor + len(digits)],
                                           calibration=self.calibration, model_version=self.version))
                cursor += len(digits)
                continue
            result = read(digits, mode)
            hint = number_hint(read(number, "number")) if number is not None else ""
            if hint and isinstance(result, NotADigit):
                result.number_hint = hint
            elif hint:
                result = replace(result, number_hint=hint)
            results.append(result)
        return results

    def recognize(self, image: bytes | np.ndarray, *, mode: str = "digit") -> Recognition:
        """One image; raises ImageDecodeError, NoDigitFound, NotADigit or TooManyLines when
        there is no answer."""
        result = self.recognize_many([image], mode=mode)[0]
        if isinstance(result, Exception):
            raise result
        return result


_engines: dict[tuple[str, int, int], Engine] = {}
_lock = threading.Lock()


def get_engine(model_dir: str | Path) -> Engine:
    """The process-wide engine for ``model_dir``: loaded on first use, then kept.

    Keyed on the folder and its metadata file's modification time and size (a stat, not
    a read: this runs for every batch), so activating another artifact or replacing the
    files is picked up by the next call without a restart.
    """
    model_dir = Path(model_dir).resolve()
    try:
        stat = (model_dir / METADATA_FILE).stat()
    except OSError as exc:
        raise ArtifactError(f"no {METADATA_FILE} in {model_dir}") from exc
    key = (str(model_dir), stat.st_mtime_ns, stat.st_size)
    engine = _engines.get(key)
    if engine is None:
        with _lock:
            engine = _engines.get(key)
            if engine is None:
                engine = Engine(model_dir)
                for previous in _engines.values():  # one model per process: free the old one
                    previous.close()
                _engines.clear()
                _engines[key] = engine
    return engine
