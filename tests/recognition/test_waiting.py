"""`?wait=` is bounded: past the per-user or the per-process cap the answer is 202 pending at
once, with its Location, and every slot is given back however the wait ends."""
import base64

import pytest

from recognition import transport

pytestmark = pytest.mark.django_db

WAIT = "/api/v1/predictions/?wait=5"


def _body(png: bytes) -> dict:
    return {"image": base64.b64encode(png).decode()}


@pytest.fixture
def waits(monkeypatch):
    """Records each wait; ``during`` (if set) runs while the first request waits."""
    calls = []
    state = {"during": None}

    def wait_for(prediction, seconds):
        calls.append(str(prediction.pk))
        during, state["during"] = state["during"], None
        if during:
            state["inner"] = during()
        return prediction

    monkeypatch.setattr(transport, "wait_for", wait_for)
    return calls, state


def test_a_user_past_the_per_user_cap_gets_202_at_once_with_a_location(token_client, owner, digit_png, settings,
                                                                        waits):
    settings.MAX_WAITING_PER_USER, settings.MAX_WAITING_PER_PROCESS = 1, 10
    calls, state = waits
    state["during"] = lambda: token_client(owner).post(WAIT, _body(digit_png[0]), format="json")
    outer = token_client(owner).post(WAIT, _body(digit_png[0]), format="json")
    inner = state["inner"]
    assert outer.status_code == inner.status_code == 202
    assert inner["Location"].endswith(f"/api/v1/predictions/{inner.json()['id']}/")
    assert calls == [outer.json()["id"]]  # the second one did not wait
    token_client(owner).post(WAIT, _body(digit_png[0]), format="json")
    assert len(calls) == 2  # once the first ended, the slot was back


def test_one_user_at_the_cap_leaves_others_free_to_wait(token_client, owner, other, digit_png, settings, waits):
    settings.MAX_WAITING_PER_USER, settings.MAX_WAITING_PER_PROCESS = 1, 10
    calls, state = waits
    state["during"] = lambda: token_client(other).post(WAIT, _body(digit_png[0]), format="json")
    outer = token_client(owner).post(WAIT, _body(digit_png[0]), format="json")
    assert calls == [outer.json()["id"], state["inner"].json()["id"]]  # both waited


def test_past_the_per_process_cap_anyone_gets_202_at_once(token_client, owner, other, digit_png, settings,
                                                          waits):
    settings.MAX_WAITING_PER_USER, settings.MAX_WAITING_PER_PROCESS = 10, 1
    calls, state = waits
    state["during"] = lambda: token_client(other).post(WAIT, _body(digit_png[0]), format="json")
    outer = token_client(owner).post(WAIT, _body(digit_png[0]), format="json")
    assert state["inner"].status_code == 202 and "Location" in state["inner"]
    assert calls == [outer.json()["id"]]


def test_a_wait_that_fails_gives_its_slots_back(token_client, owner, digit_png, settings, monkeypatch):
    settings.MAX_WAITING_PER_USER = settings.MAX_WAITING_PER_PROCESS = 1
    calls = []

    def failing_wait(prediction, seconds):
        calls.append(str(prediction.pk))
        raise RuntimeError("the wait broke")

    monkeypatch.setattr(transport, "wait_for", failing_wait)
    client = token_client(owner)
    client.raise_request_exception = False
    for _ in range(3):
        assert client.post(WAIT, _body(digit_png[0]), format="json").status_code == 500
    assert len(calls) == 3
