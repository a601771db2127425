"""The command-line client (clients/python) against a live server: 50 files, one run killed
part-way, then --resume: every file answered once, no prediction created twice."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from rest_framework.authtoken.models import Token

from recognition.models import IdempotencyKey, Prediction
from tests.images import encode, place

pytestmark = pytest.mark.django_db(transaction=True)

FILES = 50


@pytest.fixture
def scans(tmp_path, mnist_test):
    """50 different digit images and their labels."""
    x, y = mnist_test
    folder = tmp_path / "scans"
    folder.mkdir()
    labels = {}
    for i in range(FILES):
        path = folder / f"scan-{i:02d}.png"
        path.write_bytes(encode(place(x[i])))
        labels[str(path)] = str(y[i])
    return folder, labels


@pytest.fixture
def server(live_server, in_process_transport):
    in_process_transport.warm_up().result()  # the model loaded, as the server does at start-up
    return live_server.url


def _client(args: list[str], token: str, url: str, tmp_path, **popen) -> subprocess.Popen:
    env = {**os.environ, "DIGITREC_TOKEN": token, "DIGITREC_URL": url,
           "DIGITREC_CONFIG": str(tmp_path / "no-config")}
    return subprocess.Popen([sys.executable, "-m", "digitrec_client", "recognize", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _rows(path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_an_interrupted_run_resumes_without_creating_anything_twice(owner, server, scans, tmp_path):
    folder, labels = scans
    token = Token.objects.create(user=owner).key
    out = tmp_path / "results.csv"
    args = [str(folder), "--out", str(out), "--batch-size", "10", "--quiet"]

    first = _client(args, token, server, tmp_path)
    deadline = time.monotonic() + 120
    while not (out.exists() and len(out.read_text().splitlines()) > 12):
        assert first.poll() is None, first.stderr.read()
        assert time.monotonic() < deadline, "the client wrote no rows"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)  # no chance to tidy up
    first.wait()
    written_before = len(_rows(out))
    assert 12 <= written_before < FILES

    second = _client([*args, "--resume"], token, server, tmp_path)
    _, stderr = second.communicate(timeout=180)

    assert second.returncode == 0, stderr
    rows = _rows(out)
    assert sorted(row["file"] for row in rows) == sorted(labels)  # each file once
    assert all(row["status"] == "done" for row in rows)
    right = sum(row["answer"] == labels[row["file"]] for row in rows)
    assert right >= FILES - 2
    assert Prediction.objects.filter(owner=owner).count() == FILES  # nothing created twice
    assert {row["id"] for row in rows} == {str(pk) for pk in Prediction.objects.values_list("pk", flat=True)}
    assert IdempotencyKey.objects.filter(owner=owner).count() == FILES // 10


def test_json_lines_carry_each_whole_prediction(owner, server, scans, tmp_path):
    folder, _ = scans
    token = Token.objects.create(user=owner).key
    out = tmp_path / "results.jsonl"
    files = sorted(str(p) for p in folder.iterdir())[:3]

    run = _client([*files, "--out", str(out), "--mode", "digit", "--quiet"], token, server, tmp_path)
    _, stderr = run.communicate(timeout=120)

    assert run.returncode == 0, stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(line["file"] for line in lines) == files  # written as they finish
    assert all(line["prediction"]["id"] == line["id"] and line["prediction"]["status"] == "done" for line in lines)


def test_the_token_never_comes_from_the_command_line(server, scans, tmp_path):
    run = _client([str(scans[0]), "--token", "abc"], "", server, tmp_path)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 2 and "unrecognized arguments: --token" in stderr

    missing = _client([str(scans[0])], "", server, tmp_path)
    _, stderr = missing.communicate(timeout=60)
    assert missing.returncode == 1 and "DIGITREC_TOKEN" in stderr


def test_the_token_is_read_from_the_config_file(owner, server, scans, tmp_path):
    folder, _ = scans
    config = tmp_path / "config"
    config.write_text(f"[digitrec]\nurl = {server}\ntoken = {Token.objects.create(user=owner).key}\n")
    env = {**os.environ, "DIGITREC_CONFIG": str(config)}
    env.pop("DIGITREC_TOKEN", None)

    run = subprocess.run([sys.executable, "-m", "digitrec_client", "recognize", str(folder / "scan-00.png"),
                          "--quiet"], env=env, capture_output=True, text=True, timeout=120)

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == "done"


def test_a_bad_file_is_reported_alone(owner, server, scans, tmp_path):
    folder, _ = scans
    (folder / "zz-broken.png").write_bytes(b"not an image")
    token = Token.objects.create(user=owner).key
    out = tmp_path / "results.csv"
    files = [str(folder / "scan-00.png"), str(folder / "scan-01.png"), str(folder / "zz-broken.png")]

    run = _client([*files, "--out", str(out), "--quiet"], token, server, tmp_path)
    _, stderr = run.communicate(timeout=120)

    assert run.returncode == 0, stderr
    rows = {row["file"]: row for row in _rows(out)}
    assert rows[files[2]]["status"] == "rejected" and rows[files[2]]["error_code"] == "not_an_image"
    assert rows[files[0]]["status"] == rows[files[1]]["status"] == "done"
