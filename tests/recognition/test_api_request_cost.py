"""What the API's prediction POST (the load test's request) costs in queries, Redis round
trips and serializations: each of these failing means work came back into every request
(docs/BENCHMARKS.md, "Where a prediction's CPU goes")."""
import base64
import uuid

import pytest
import redis
from django.core.cache import cache

from recognition import transport
from recognition.serializers import PredictionSerializer

pytestmark = pytest.mark.django_db

WAIT = "/api/v1/predictions/?wait=5"


@pytest.fixture
def redis_cache(settings, redis_url):
    settings.CACHES = {"default": {"BACKEND": "digitrec.cache.FailOpenRedisCache", "LOCATION": redis_url,
                                   "KEY_PREFIX": f"test-cost-{uuid.uuid4().hex}"}}


@pytest.fixture
def answered_at_once(monkeypatch):
    """The wait returns the prediction as it is: what is counted is the request's own work."""
    monkeypatch.setattr(transport, "wait_for", lambda prediction, seconds: prediction)


@pytest.fixture
def redis_calls(monkeypatch):
    """Counts the round trips to Redis (a pipeline is one) and the redis-py clients made."""
    counts = {"round trips": 0, "clients": 0}
    send, make = redis.connection.AbstractConnection.send_packed_command, redis.Redis.__init__

    def counting_send(self, command, *args, **kwargs):
        counts["round trips"] += 1
        return send(self, command, *args, **kwargs)

    def counting_make(self, *args, **kwargs):
        counts["clients"] += 1
        return make(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting_send)
    monkeypatch.setattr(redis.Redis, "__init__", counting_make)
    return counts


def _post(client, png: bytes, **headers):
    return client.post(WAIT, {"image": base64.b64encode(png).decode()}, format="json", **headers)


def test_it_creates_a_prediction_in_two_queries(token_client, owner, digit_png, answered_at_once,
                                                django_assert_num_queries):
    client = token_client(owner)
    _post(client, digit_png[0])  # the token's row is made on first use by the fixture

    with django_assert_num_queries(2):  # the token (with its user), the INSERT
        assert _post(client, digit_png[0]).status_code == 202


def test_it_serializes_the_answer_once_when_it_waits(token_client, owner, digit_png, answered_at_once, monkeypatch):
    calls = []
    serialize = PredictionSerializer.to_representation

    def counting(self, instance):
        calls.append(instance.pk)
        return serialize(self, instance)

    monkeypatch.setattr(PredictionSerializer, "to_representation", counting)

    response = _post(token_client(owner), digit_png[0])

    assert response.status_code == 202 and calls == [uuid.UUID(response.json()["id"])]


def test_it_serializes_the_first_answer_too_when_it_has_an_idempotency_key(token_client, owner, digit_png,
                                                                            answered_at_once, monkeypatch):
    calls = []
    serialize = PredictionSerializer.to_representation
    monkeypatch.setattr(PredictionSerializer, "to_representation",
                        lambda self, instance: calls.append(instance.pk) or serialize(self, instance))

    response = _post(token_client(owner), digit_png[0], HTTP_IDEMPOTENCY_KEY="cost-1")

    assert response.status_code == 202 and len(calls) == 2  # the stored first answer, then the waited one


def test_its_throttle_takes_one_redis_round_trip_and_no_new_client(
        token_client, owner, digit_png, answered_at_once, redis_cache, redis_calls):
    client = token_client(owner)
    _post(client, digit_png[0])  # the first request of this thread makes its cache client
    redis_calls.update({"round trips": 0, "clients": 0})

    assert _post(client, digit_png[0]).status_code == 202

    # The throttle's count (one MULTI/EXEC); the waiting slots are counted in the process.
    assert redis_calls == {"round trips": 1, "clients": 0}


def test_a_window_count_is_one_round_trip_and_says_how_long_the_window_has_left(redis_cache, redis_calls):
    key = f"window-{uuid.uuid4().hex}"
    cache.window_peek(key)  # connects (a new connection's handshake is several commands)
    redis_calls["round trips"] = 0

    first, second = cache.window_count(key, 60), cache.window_count(key, 60)

    assert redis_calls["round trips"] == 2
    assert first[0] == 1 and second[0] == 2 and 59 < second[1] <= 60
    assert cache.window_peek(key)[0] == 2


def test_a_workers_batch_asks_for_webhooks_in_the_query_that_locks_its_rows(owner, digit_png):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from recognition import runs, services

    ids = [services.prediction_create(owner=owner, image=digit_png[0], source="api").pk for _ in range(3)]
    runs.predictions_run(ids[:1])  # the model and the serving version, read once

    with CaptureQueriesContext(connection) as captured:
        runs.predictions_run(ids[1:])

    asking = [q["sql"] for q in captured.captured_queries if "recognition_webhook" in q["sql"]]
    assert len(asking) == 1 and "FOR UPDATE" in asking[0]
    assert len([q for q in captured.captured_queries if q["sql"].startswith("UPDATE")]) == 2
