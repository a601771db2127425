"""Load test: people who open the home page and submit drawn digits, waiting for each answer.

Like the original report's Locust test, each user opens the home page now and then and
submits canvas drawings. Against DigitRec a drawing goes to the API with ``?wait=10``
(answered when the prediction is done, or polled if it is still pending); against the
baseline it goes to its ``/drawing`` form endpoint. Each finished prediction is also
recorded as a "PREDICT prediction" entry whose time is submit-to-result.

    locust -f benchmarks/locustfile.py --host http://127.0.0.1:8000 DigitRecUser
    locust -f benchmarks/locustfile.py --host http://127.0.0.1:5000 BaselineUser

benchmarks/compare.py runs both, one after the other, and prints the figures.
"""
from __future__ import annotations

import base64
import io
import itertools
import time
import uuid

import numpy as np
from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser
from PIL import Image

from ml import data
from ml.synthetic import _crop_ink

CANVAS = 280


def _drawings(count: int = 32) -> list[str]:
    """Canvas-like PNG data URLs (dark strokes on a transparent 280x280 canvas) of MNIST
    test digits, drawn off-centre and at varied sizes as people draw them."""
    mnist = data.load(data_dir())
    rng = np.random.default_rng(0)
    urls = []
    for index in rng.choice(len(mnist.x_test), size=count, replace=False):
        crop = Image.fromarray(_crop_ink(mnist.x_test[index]))
        height = int(rng.integers(90, 220))
        width = max(1, round(crop.width * height / crop.height))
        alpha = crop.resize((width, height), Image.Resampling.BICUBIC)
        canvas = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
        ink = Image.new("RGBA", alpha.size, (20, 20, 20, 255))
        ink.putalpha(alpha)
        canvas.alpha_composite(ink, (int(rng.integers(0, CANVAS - width + 1)),
                                     int(rng.integers(0, CANVAS - height + 1))))
        buffer = io.BytesIO()
        canvas.save(buffer, "PNG")
        urls.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode())
    return urls


def data_dir():
    import os
    from pathlib import Path

    return Path(os.environ.get("MNIST_DIR", Path(__file__).resolve().parent.parent / "var" / "mnist"))


DRAWINGS = _drawings()
_next_drawing = itertools.cycle(range(len(DRAWINGS)))


def _record_prediction(started: float, exception: Exception | None = None) -> None:
    events.request.fire(request_type="PREDICT", name="prediction", response_length=0,
                        response_time=(time.perf_counter() - started) * 1000, exception=exception,
                        context={})


class DigitRecUser(FastHttpUser):
    wait_time = between(0.0, 0.05)

    def on_start(self) -> None:
        name = f"load-{uuid.uuid4().hex[:12]}"
        response = self.client.post("/api/v1/auth/register/",
                                    json={"username": name, "password": f"Pw-{uuid.uuid4().hex}"},
                                    name="register")
        self.headers = {"Authorization": f"Token {response.json()['token']}"}

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="home")

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


class BaselineUser(FastHttpUser):
    wait_time = between(0.0, 0.05)

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="home")

    @task(10)
    def predict(self) -> None:
        started = time.perf_counter()
        with self.client.post("/drawing", data={"canvasimg": DRAWINGS[next(_next_drawing)]},
                              name="drawing", catch_response=True) as response:
            ok = response.status_code == 200 and "PREDICTED DIGIT" in (response.text or "")
            if not ok:
                response.failure(f"status {response.status_code}")
        _record_prediction(started, None if ok else RuntimeError("baseline failed"))
