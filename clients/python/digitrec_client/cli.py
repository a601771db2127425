"""``python -m digitrec_client recognize FILES... [--mode M] [--out F] [--resume]``"""
from __future__ import annotations

import argparse
import configparser
import os
import sys
import time
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from digitrec_client.api import ApiError, Client, Upload
from digitrec_client.results import Writer, finished_files, row_for

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp"}
MULTIPART_ROOM = 0.9  # of max_request_bytes: the rest is for multipart headers
POLL_SECONDS = 0.5


def config_file() -> Path:
    if os.environ.get("DIGITREC_CONFIG"):
        return Path(os.environ["DIGITREC_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "digitrec" / "config"


def settings(url: str | None) -> tuple[str, str]:
    """The server's URL and the token: arguments and environment first, then the config file."""
    config = configparser.ConfigParser()
    config.read(config_file())
    section = config["digitrec"] if config.has_section("digitrec") else {}
    token = os.environ.get("DIGITREC_TOKEN") or section.get("token", "")
    url = url or os.environ.get("DIGITREC_URL") or section.get("url", "") or "http://127.0.0.1:8000"
    if not token:
        raise SystemExit(f"No API token: set DIGITREC_TOKEN, or put `token = ...` under [digitrec] in "
                         f"{config_file()}. (Your profile page shows the token.)")
    return url, token


def files_from(arguments: list[str]) -> list[Path]:
    """The files named, and the images inside folders named, sorted and without repeats."""
    found = set()
    for name in arguments:
        path = Path(name)
        if path.is_dir():
            found.update(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        elif path.is_file():
            found.add(path)
        else:
            raise SystemExit(f"No such file: {name}")
    return sorted(found)


def batches(uploads: list[Upload], limits: dict, size: int) -> list[list[Upload]]:
    """Consecutive batches within the server's limits. They depend only on the files, never on
    what is done, so a resumed run sends the same batches with the same keys."""
    size = min(size, limits["max_batch_images"])
    room = int(limits["max_request_bytes"] * MULTIPART_ROOM)
    out, current, total = [], [], 0
    for upload in uploads:
        if current and (len(current) >= size or total + upload.size > room):
            out.append(current)
            current, total = [], 0
        current.append(upload)
        total += upload.size
    return out + ([current] if current else [])


def recognize(args: argparse.Namespace) -> int:
    url, token = settings(args.url)
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and out.stat().st_size and not args.resume:
        raise SystemExit(f"{out} exists: add --resume to continue that run, or choose another file.")
    client = Client(url, token)
    limits = client.limits()
    done = finished_files(out) if (out is not None and args.resume) else set()
    uploads = [Upload.of(path) for path in files_from(args.files)]
    writer = Writer(out, append=args.resume)
    progress = Progress(TextColumn("[bold]recognising"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[failed]} failed"), TimeRemainingColumn(),
                        disable=args.quiet, transient=False, console=None if out else _stderr_console())
    try:
        with progress:
            task = progress.add_task("files", total=len(uploads), completed=sum(str(u.path) in done for u in uploads),
                                     failed=0)
            failed = 0
            pending: dict[str, Upload] = {}
            for batch in batches(uploads, limits, args.batch_size):
                todo = [u for u in batch if str(u.path) not in done]
                if not todo:
                    continue
                for upload in [u for u in todo if u.size > limits["max_upload_bytes"]]:
                    writer.write(row_for(upload.path, upload.digest, args.mode, None, (
                        "too_large", f"{upload.size} bytes; the server takes at most {limits['max_upload_bytes']}.")))
                    failed += 1
                    progress.update(task, advance=1, failed=failed)
                # The whole batch, done files too, so that its key and answer are the first run's.
                sendable = [u for u in batch if u.size <= limits["max_upload_bytes"]]
                for upload, prediction in _submit(client, sendable, args.mode, writer):
                    if prediction is None:
                        failed += 1
                        progress.update(task, advance=1, failed=failed)
                    elif str(upload.path) not in done:
                        pending[prediction["id"]] = upload
                failed = _collect(client, pending, writer, progress, task, failed, args.mode,
                                  keep=2 * limits["max_batch_images"])
            _collect(client, pending, writer, progress, task, failed, args.mode, keep=0)
    finally:
        writer.close()
    return 0


def _submit(client: Client, uploads: list[Upload], mode: str, writer: Writer):
    """(upload, prediction) for each file; a batch the server refuses is sent file by file, so
    that one bad file is reported alone ((upload, None), its row written)."""
    if not uploads:
        return []
    try:
        return list(zip(uploads, client.submit(uploads, mode)))
    except ApiError as exc:
        if len(uploads) == 1 or exc.status in (401, 403):
            if exc.status in (401, 403):
                raise SystemExit(f"The server refused the token: {exc.message}")
            writer.write(row_for(uploads[0].path, uploads[0].digest, mode, None, (exc.code, exc.message)))
            return [(uploads[0], None)]
    return [pair for upload in uploads for pair in _submit(client, [upload], mode, writer)]


def _collect(client: Client, pending: dict, writer: Writer, progress, task, failed: int, mode: str, *,
             keep: int) -> int:
    """Wait for finished predictions and write their rows until at most ``keep`` are pending."""
    while len(pending) > keep:
        for prediction_id in list(pending):
            prediction = client.prediction(prediction_id)
            if prediction["status"] == "pending":
                continue
            upload = pending.pop(prediction_id)
            writer.write(row_for(upload.path, upload.digest, mode, prediction), prediction)
            failed += prediction["status"] == "failed"
            progress.update(task, advance=1, failed=failed)
        if len(pending) > keep:
            time.sleep(POLL_SECONDS)
    return failed


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)  # the rows go to standard output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m digitrec_client", description=(
        "Recognise handwritten digits in image files with a DigitRec server. The token comes from "
        "DIGITREC_TOKEN or the config file (~/.config/digitrec/config), never from the command line."))
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("recognize", help="recognise image files (or folders of them)")
    run.add_argument("files", nargs="+", metavar="FILES")
    run.add_argument("--mode", choices=["digit", "number", "page"], default="digit",
                     help="digit (one digit a file), number (a line of digits) or page; the server decides "
                          "which it supports")
    run.add_argument("--out", help="results.csv or results.jsonl (default: JSON Lines on standard output)")
    run.add_argument("--resume", action="store_true", help="skip the files already in --out")
    run.add_argument("--url", help="the server (default: DIGITREC_URL, the config file, or http://127.0.0.1:8000)")
    run.add_argument("--batch-size", type=int, default=100, help="files a request, at most the server's limit")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    try:
        return recognize(args)
    except ApiError as exc:
        print(f"digitrec: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("digitrec: interrupted; run again with --resume to continue", file=sys.stderr)
        return 130
