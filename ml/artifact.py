"""A trained model on disk: ``model.keras`` beside ``metadata.json`` (and plots).

The metadata records the SHA-256 of the model file, so a truncated or swapped file is
caught before TensorFlow is asked to load it.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"


class ArtifactError(Exception):
    """The model artifact is missing, unreadable or does not match its metadata."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_metadata(model_dir: str | Path, *, verify: bool = True) -> dict:
    """Read ``metadata.json`` of an artifact; with ``verify``, check the model file's hash."""
    model_dir = Path(model_dir)
    meta_path = model_dir / METADATA_FILE
    model_path = model_dir / MODEL_FILE
    if not meta_path.is_file():
        raise ArtifactError(f"no {METADATA_FILE} in {model_dir}")
    if not model_path.is_file():
        raise ArtifactError(f"no {MODEL_FILE} in {model_dir}")
    try:
        metadata = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{meta_path} is not valid JSON: {exc}") from exc
    if not isinstance(metadata, dict) or "version" not in metadata:
        raise ArtifactError(f"{meta_path} has no model version")
    if verify:
        stat = model_path.stat()
        actual = _cached_sha256(str(model_path), stat.st_size, stat.st_mtime_ns)
        expected = metadata.get("model_sha256")
        if expected and actual != expected:
            raise ArtifactError(
                f"{model_path} does not match its metadata (sha256 {actual[:12]}..., "
                f"expected {expected[:12]}...): the file is corrupt or was replaced"
            )
    return metadata


@lru_cache(maxsize=8)
def _cached_sha256(path: str, size: int, mtime_ns: int) -> str:
    # Keyed on size and mtime so a health check does not re-hash an unchanged file.
    return sha256_of(Path(path))


def newest(base: str | Path) -> Path:
    """The newest valid artifact folder under ``base`` (by its metadata's ``created_at``):
    the shipped model, for tools and tests that run without the database that says which
    version serves."""
    found = []
    for folder in Path(base).iterdir() if Path(base).is_dir() else []:
        if folder.is_symlink() or not folder.is_dir():
            continue
        try:
            metadata = load_metadata(folder, verify=False)
        except ArtifactError:
            continue
        found.append((str(metadata.get("created_at", "")), folder.name, folder))
    if not found:
        raise ArtifactError(f"no model artifact in {base}")
    return max(found)[2]
