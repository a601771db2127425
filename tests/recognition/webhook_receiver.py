"""A webhook receiver on loopback for tests: a real HTTP server in a thread that records
what it is sent and answers with the status codes it is told to."""
from __future__ import annotations

import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """The receiver's check, as the README shows it: the HMAC of "<t>.<body>" matches, and t is recent."""
    fields = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(fields["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - timestamp) <= tolerance


@dataclass
class Received:
    at: float
    path: str
    headers: dict
    body: bytes


@dataclass
class Receiver:
    url: str
    server: ThreadingHTTPServer
    answers: list = field(default_factory=list)  # status codes to answer in turn, then 200
    received: list[Received] = field(default_factory=list)
    redirect_to: str = ""
    body: bytes = b"ok"

    def wait_for(self, count: int, timeout: float = 20) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received


def start() -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.received.append(Received(time.monotonic(), self.path, dict(self.headers), body))
            code = receiver.answers.pop(0) if receiver.answers else 200
            self.send_response(code)
            if receiver.redirect_to:
                self.send_header("Location", receiver.redirect_to)
            self.send_header("Content-Length", str(len(receiver.body)))
            self.end_headers()
            self.wfile.write(receiver.body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/digitrec", server=server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver


@dataclass
class Tarpit:
    url: str
    held: list[socket.socket] = field(default_factory=list)  # every connection taken, none answered

    def wait_for(self, count: int, timeout: float = 15) -> int:
        """How many connections it holds, once ``count`` or after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.held) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.held)


@contextmanager
def tarpit() -> Iterator[Tarpit]:
    """A receiver that takes every connection and never answers; it closes them all on exit."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    pit = Tarpit(url=f"http://127.0.0.1:{server.getsockname()[1]}/hooks/digitrec")
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                pit.held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield pit
    finally:
        stop.set()
        thread.join()
        for connection in pit.held:
            connection.close()
        server.close()
