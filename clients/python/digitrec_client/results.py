"""The output file: one row per file, CSV or JSON Lines by its extension, flushed as each
file finishes, so that an interrupted run leaves every finished row and ``--resume`` can
read them back."""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import TextIO

COLUMNS = ["file", "sha256", "id", "status", "mode", "answer", "confidence", "not_sure", "error_code", "error"]
FINISHED = {"done", "failed", "rejected"}  # "rejected": the server refused the file itself


def answer_of(prediction: dict) -> str:
    """The answer as text, whatever the mode: a digit, a number, or a page's text."""
    for name in ("text", "number", "digit"):
        if prediction.get(name) is not None:
            return str(prediction[name])
    return ""


def row_for(file: Path, digest: str, mode: str, prediction: dict | None, error: tuple[str, str] | None = None) -> dict:
    if prediction is None:
        code, message = error or ("", "")
        return {"file": str(file), "sha256": digest, "id": "", "status": "rejected", "mode": mode, "answer": "",
                "confidence": "", "not_sure": "", "error_code": code, "error": message}
    return {"file": str(file), "sha256": digest, "id": prediction["id"], "status": prediction["status"],
            "mode": prediction.get("mode", mode), "answer": answer_of(prediction),
            "confidence": "" if prediction.get("confidence") is None else prediction["confidence"],
            "not_sure": prediction.get("not_sure", ""), "error_code": prediction.get("error_code") or "",
            "error": prediction.get("error") or ""}


def _is_jsonl(path: Path) -> bool:
    return path.suffix.lower() in (".jsonl", ".ndjson")


def finished_files(path: Path) -> set[str]:
    """The files an earlier run finished, as written in ``path`` (a cut-off last line is ignored)."""
    if not path.exists():
        return set()
    with path.open(newline="", encoding="utf-8") as fh:
        if _is_jsonl(path):
            rows = []
            for line in fh:
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    continue  # the line being written when the run was stopped
        else:
            rows = list(csv.DictReader(fh))
    return {row["file"] for row in rows if row.get("status") in FINISHED}


class Writer:
    """Appends rows to the output (standard output when it is None)."""

    def __init__(self, path: Path | None, *, append: bool):
        self.jsonl = path is None or _is_jsonl(path)
        if path is None:
            self.fh: TextIO = sys.stdout
        else:
            fresh = not (append and path.exists() and path.stat().st_size > 0)
            if not fresh:
                _end_with_newline(path)
            self.fh = path.open("a" if append else "w", newline="", encoding="utf-8")
        self.csv = None if self.jsonl else csv.DictWriter(self.fh, fieldnames=COLUMNS)
        if self.csv is not None and (path is None or fresh):
            self.csv.writeheader()

    def write(self, row: dict, prediction: dict | None = None) -> None:
        if self.jsonl:
            self.fh.write(json.dumps({**row, "prediction": prediction}) + "\n")
        else:
            self.csv.writerow(row)
        self.fh.flush()

    def close(self) -> None:
        if self.fh is not sys.stdout:
            self.fh.close()


def _end_with_newline(path: Path) -> None:
    """A run stopped mid-line leaves a partial row: finish that line so the next row is whole."""
    with path.open("rb+") as fh:
        fh.seek(-1, 2)
        if fh.read(1) != b"\n":
            fh.write(b"\n")
