"""The DigitRec API over HTTP: retries with backoff that honour Retry-After, and a pause
whenever the RateLimit field says the budget is spent."""
from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from digitrec_client import __version__

# The server's documented limits, for a server without GET /api/v1/limits/.
DEFAULT_LIMITS = {"max_batch_images": 100, "max_upload_bytes": 10 * 2**20, "max_request_bytes": 50 * 2**20}
RATE_LIMIT = re.compile(r'"[^"]*";r=(?P<remaining>\d+);t=(?P<reset>\d+)')


class ApiError(Exception):
    """An answer that retrying will not change (4xx), with the server's error message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Upload:
    path: Path
    digest: str  # SHA-256 of the content
    size: int

    @classmethod
    def of(cls, path: Path) -> Upload:
        data = path.read_bytes()
        return cls(path, hashlib.sha256(data).hexdigest(), len(data))


def idempotency_key(mode: str, uploads: list[Upload]) -> str:
    """The same files in the same mode always get the same key: a resumed run replays."""
    text = mode + "\n" + "\n".join(u.digest for u in uploads)
    return "digitrec-client-" + hashlib.sha256(text.encode()).hexdigest()


class Client:
    def __init__(self, url: str, token: str, *, retries: int = 8, backoff: float = 0.5, timeout: float = 60):
        self.base = url.rstrip("/") + "/api/v1/"
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Token {token}",
                                     "User-Agent": f"digitrec-client/{__version__}"})
        # Every method is retried, POSTs too: they carry an Idempotency-Key.
        retry = Retry(total=retries, backoff_factor=backoff, backoff_max=30, allowed_methods=None,
                      status_forcelist=[429, 502, 503, 504], respect_retry_after_header=True,
                      raise_on_status=False)
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def _request(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.session.request(method, self.base + path, timeout=self.timeout, **kwargs)
        self._respect_budget(response)
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                raise ApiError(response.status_code, error["code"], error["message"])
            except (ValueError, KeyError, TypeError):
                raise ApiError(response.status_code, "http_error", response.text[:200]) from None
        return response

    @staticmethod
    def _respect_budget(response: requests.Response) -> None:
        match = RATE_LIMIT.match(response.headers.get("RateLimit", ""))
        if match and int(match["remaining"]) == 0:
            time.sleep(int(match["reset"]))

    def limits(self) -> dict:
        try:
            return {**DEFAULT_LIMITS, **self._request("GET", "limits/").json()}
        except ApiError as exc:
            if exc.status == 404:
                return dict(DEFAULT_LIMITS)
            raise

    def submit(self, uploads: list[Upload], mode: str) -> list[dict]:
        """Create predictions for these files (one request), once per Idempotency-Key."""
        handles = [u.path.open("rb") for u in uploads]
        try:
            headers = {"Idempotency-Key": idempotency_key(mode, uploads)}
            if len(uploads) == 1:
                files = [("image", (uploads[0].path.name, handles[0]))]
                return [self._request("POST", "predictions/", data={"mode": mode}, files=files,
                                      headers=headers).json()]
            files = [("images", (u.path.name, h)) for u, h in zip(uploads, handles)]
            return self._request("POST", "predictions/batch/", data={"mode": mode}, files=files,
                                 headers=headers).json()
        finally:
            for handle in handles:
                handle.close()

    def prediction(self, prediction_id: str) -> dict:
        return self._request("GET", f"predictions/{prediction_id}/").json()
