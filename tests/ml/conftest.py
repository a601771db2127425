import fcntl
import hashlib
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from django.conf import settings

import ml
from ml.artifact import newest
from ml.inference import get_engine


@pytest.fixture(scope="session")
def engine():
    """The shipped model (the newest artifact; no database needed to find it)."""
    return get_engine(newest(settings.ML_ARTIFACTS_DIR))


def _ml_sources_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(ml.__file__).parent.rglob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


@pytest.fixture(scope="session")
def generated_data_cache() -> Callable[[str], AbstractContextManager[Path]]:
    """``with generated_data_cache("name") as folder``: a folder under var/test-cache for
    generated images, kept across runs while no ml/ source changes (generation is
    deterministic from its code and seeds; a change starts the folder afresh). Held under a
    lock, as both xdist workers may fill the same one."""
    root = Path(settings.VAR_DIR) / "test-cache"
    version = _ml_sources_digest()

    @contextmanager
    def folder(name: str) -> Iterator[Path]:
        root.mkdir(parents=True, exist_ok=True)
        with open(root / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for stale in root.glob(f"{name}-*"):
                if stale.name != f"{name}-{version}":
                    shutil.rmtree(stale, ignore_errors=True)
            path = root / f"{name}-{version}"
            path.mkdir(exist_ok=True)
            yield path

    return folder
