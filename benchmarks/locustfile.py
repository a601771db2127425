"""Load test: people who open the home page and submit drawn digits, waiting for each answer.

Like the original report's Locust test, each user opens the home page now and then and
submits canvas drawings. Against DigitRec a drawing goes to the API with ``?wait=10``
(answered when the prediction is done, or polled if it is still pending); against the
baseline it goes to its ``/drawing`` form endpoint. Each finished prediction is also
recorded as a "PREDICT prediction" entry whose time is submit-to-result.

    locust -f benchmarks/locustfile.py --host http://127.0.0.1:8000 DigitRecUser
    locust -f benchmarks/locustfile.py --host http://127.0.0.1:5000 BaselineUser

benchmarks/compare.py runs both, one after the other, and prints the figures. It registers
the DigitRec accounts first and passes their tokens in the file named by DIGITREC_TOKENS;
without it, each user registers as it starts.
"""
from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from pathlib import Path

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

from benchmarks.drawings import DRAWINGS

_next_drawing = itertools.cycle(range(len(DRAWINGS)))


def _record_prediction(started: float, exception: Exception | None = None) -> None:
    events.request.fire(request_type="PREDICT", name="prediction", response_length=0,
                        response_time=(time.perf_counter() - started) * 1000, exception=exception,
                        context={})


def _user_rate() -> float:
    return float(os.environ.get("DIGITREC_USER_RATE") or 0)


def _wait_time():
    """As fast as the server answers (0-50 ms between tasks), or, with DIGITREC_USER_RATE
    set, about that many tasks per second per user: a lighter load, to measure latency
    below saturation. The pauses are random (0 to 2/rate s), not a fixed pace, which would
    keep users that started together firing together, in bursts."""
    rate = _user_rate()
    return between(0.0, 2.0 / rate) if rate > 0 else between(0.0, 0.05)


class Visitor(FastHttpUser):
    """Both users: open the home page now and then, submit drawings the rest of the time."""

    abstract = True
    wait_time = _wait_time()

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="home")


def _prepared_tokens() -> list[str]:
    """Tokens of accounts registered before the run (benchmarks/compare.py writes them), so
    that hashing 50 passwords is not part of the measured minute."""
    path = os.environ.get("DIGITREC_TOKENS")
    return json.loads(Path(path).read_text()) if path else []


_tokens = iter(_prepared_tokens())
# benchmarks/soak.py names a file here to check afterwards that every answer a user was
# given is the one the database holds ("id,answer" lines).
_answers = open(os.environ["DIGITREC_ANSWERS"], "a", buffering=1) if os.environ.get("DIGITREC_ANSWERS") else None


class DigitRecUser(Visitor):

    def on_start(self) -> None:
        token = next(_tokens, None)
        if token is None:  # no prepared token left: register now
            name = f"load-{uuid.uuid4().hex[:12]}"
            response = self.client.post("/api/v1/auth/register/",
                                        json={"username": name, "password": f"Pw-{uuid.uuid4().hex}"},
                                        name="register")
            token = response.json()["token"]
        self.headers = {"Authorization": f"Token {token}"}
        if _user_rate():
            # Below saturation, users arrive spread out as they would, not all in the first
            # instant: 50 users submitting at once would queue behind each other, and that
            # one start-up burst would be the run's p99.
            time.sleep(random.uniform(0, 2 / _user_rate()))

    @task(10)
    def predict(self) -> None:
        started = time.perf_counter()
        body = {"image": DRAWINGS[next(_next_drawing)], "mode": "digit"}
        with self.client.post("/api/v1/predictions/?wait=10", json=body, headers=self.headers,
                              name="submit (wait)", catch_response=True) as response:
            if response.status_code not in (201, 202):
                response.failure(f"status {response.status_code}")
                _record_prediction(started, RuntimeError(f"submit {response.status_code}"))
                return
            prediction = response.json()
        deadline = started + 30
        while prediction["status"] == "pending" and time.perf_counter() < deadline:
            time.sleep(0.05)
            prediction = self.client.get(f"/api/v1/predictions/{prediction['id']}/", headers=self.headers,
                                         name="poll").json()
        if prediction["status"] != "done":
            _record_prediction(started, RuntimeError(f"ended {prediction['status']}"))
            return
        _record_prediction(started)
        if _answers is not None:
            answer = prediction["digit"] if prediction["mode"] == "digit" else prediction["number"]
            _answers.write(f"{prediction['id']},{answer}\n")


class BaselineUser(Visitor):

    @task(10)
    def predict(self) -> None:
        started = time.perf_counter()
        with self.client.post("/drawing", data={"canvasimg": DRAWINGS[next(_next_drawing)]},
                              name="drawing", catch_response=True) as response:
            ok = response.status_code == 200 and "PREDICTED DIGIT" in (response.text or "")
            if not ok:
                response.failure(f"status {response.status_code}")
        _record_prediction(started, None if ok else RuntimeError("baseline failed"))
