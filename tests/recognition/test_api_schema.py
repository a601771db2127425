"""The OpenAPI schema is valid, and the API keeps to it: schemathesis generates valid and
invalid requests from the schema for every operation and runs all its checks but
positive_data_acceptance (a valid-looking request may still be refused: random bytes are
not an image): no 5xx, every status, header, media type and body documented, invalid data
refused, no answer without the token."""
import re

import pytest
import schemathesis
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.specs.openapi.checks import positive_data_acceptance

app = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", app)


@schema.hook
def filter_case(context, case):
    """No multipart case with an empty field: werkzeug, the WSGI transport, writes an empty
    field with no line break before the next boundary, which Django's parser (like any other
    strict one) reads as no field at all, so the API would be judged on a request it never
    got. An empty field a real client sends is refused (test_api_predictions.py)."""
    body = case.body
    return not (case.media_type == "multipart/form-data" and isinstance(body, dict)
                and any(value == "" for value in body.values()))


def test_the_schema_is_served_and_documents_every_endpoint(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/auth/register/", "/api/v1/auth/token/", "/api/v1/predictions/",
                 "/api/v1/predictions/{id}/", "/api/v1/predictions/{id}/feedback/",
                 "/api/v1/predictions/batch/", "/api/v1/model/", "/api/v1/recognize/", "/api/v1/limits/",
                 "/api/v1/webhooks/", "/api/v1/webhooks/{id}/", "/api/v1/webhooks/{id}/deliveries/"):
        assert path in paths, path
    create = paths["/api/v1/predictions/"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]] and "422" in create["responses"]
    assert {"RateLimit", "RateLimit-Policy"} <= create["responses"]["202"]["headers"].keys()


def test_the_schema_documents_page_mode_and_its_lines(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    assert set(components["Line"]["properties"]) == {"number", "confidence", "box", "digits"}
    assert "lines" in components["Prediction"]["properties"]
    assert "page" in components["ModeEnum"]["enum"]
    assert "too_many_lines" in components["ErrorCodeEnum"]["enum"]


def test_the_docs_page_is_served_from_our_own_files(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    # Every script, stylesheet and icon comes from this server (drf-spectacular-sidecar).
    external = re.findall(r'(?:src|href)="(https?:)?//(?!testserver)[^"]+"', html)
    assert external == [] and "cdn.jsdelivr" not in html


@pytest.fixture
def token(owner):
    """The owner's token; requests go through the real WSGI handler, which would close
    the test's database connection after each one (Django's test client avoids the same
    by disconnecting these signals too)."""
    from django.core import signals
    from django.db import close_old_connections

    cache.clear()  # throttle counters
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield Token.objects.create(user=owner).key
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def model_loaded(in_process_transport):
    """The model loaded before the first request, as the server loads it when it starts: a
    preview (POST /api/v1/recognize/) must not wait for TensorFlow to import."""
    in_process_transport.warm_up().result()


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_the_api_matches_its_schema(case, token, model_loaded):
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, excluded_checks=[positive_data_acceptance])
