"""The web server's access log, as `make run` and `make stack` start it, shows a request's
path but never the token of a password-reset or email-verification link."""
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

from tests.workers import ROOT

SECRET = "bq4x9z-0123456789abcdef0123456789abcdef"
LINKS = [f"/accounts/password/reset/MQ/?token={SECRET}", f"/accounts/email/verify/?token={SECRET}"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _make_run_command() -> str:
    """The granian command of `make run`, as make would run it."""
    printed = subprocess.run(["make", "-s", "-n", "run", "PORT=$$PORT"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    return re.search(r"^\S*granian .*?application$", printed.replace("\\\n", " "), re.M | re.S)[0]


def _procfile_command() -> str:
    """The web line of the Procfile, as honcho runs it (with sh)."""
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    return line.removeprefix("web:").strip()


def _open(url: str) -> None:
    try:
        urllib.request.urlopen(url, timeout=15).close()
    except urllib.error.HTTPError:
        pass  # the database is not there: a 503 page is logged all the same


def test_the_access_log_shows_the_links_path_but_never_its_token(tmp_path):
    servers = []
    for name, command in [("make-run", _make_run_command()), ("procfile", _procfile_command())]:
        port, dead = _free_port(), _free_port()
        log = (tmp_path / f"{name}.log").open("w")
        env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "1",
               "WEB_THREADS": "2", "DJANGO_ENV": "development", "MEDIA_ROOT": str(tmp_path),
               "DATABASE_URL": f"postgres://postgres@127.0.0.1:{dead}/digitrec"}
        process = subprocess.Popen(["sh", "-c", command], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        servers.append((name, port, process, tmp_path / f"{name}.log"))
    try:
        for name, port, process, log_path in servers:
            deadline = time.monotonic() + 90
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
                    time.sleep(0.2)
            for link in LINKS:
                _open(f"http://127.0.0.1:{port}{link}")
            paths = [f'"GET {link.split("?")[0]} HTTP/1.1"' for link in LINKS]
            deadline = time.monotonic() + 10
            while not all(path in log_path.read_text() for path in paths) and time.monotonic() < deadline:
                time.sleep(0.1)  # granian writes the line once the answer is sent
            written = log_path.read_text()
            assert all(path in written for path in paths), (name, written)
            assert SECRET not in written, (name, written)
    finally:
        for _, _, process, _ in servers:
            if process.poll() is None:
                os.killpg(process.pid, 15)
                process.wait(timeout=20)
