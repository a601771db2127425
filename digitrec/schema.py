"""The API's OpenAPI schema: every operation documents the errors it can answer, in the
one error format (digitrec.api), from what the view is: who may call it, whether it takes
a body, an id or query parameters, whether it is throttled."""
from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=(
        "For programs: invalid, parse_error, too_many_files, too_many_fields, not_authenticated, "
        "authentication_failed, not_found, too_large, not_an_image, unsupported_media_type, throttled, "
        "locked_out, unavailable, busy, model_unavailable, idempotency_key_reused."))
    message = serializers.CharField(help_text="For people: what went wrong and what to do.")

    def get_fields(self):
        fields = super().get_fields()
        # Declared here: `fields` is a Serializer attribute, so it cannot be a class attribute.
        fields["fields"] = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="Messages per request field (400 invalid); empty otherwise.")
        return fields


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


RATE_LIMIT_HEADERS = {
    "RateLimit-Policy": {"schema": {"type": "string"}, "required": True, "description": (
        'The throttle\'s quota: `"user";q=3000;w=60` is 3000 requests in any 60 seconds '
        "(IETF draft-ietf-httpapi-ratelimit-headers).")},
    "RateLimit": {"schema": {"type": "string"}, "required": True, "description": (
        'What is left of it: `"user";r=2999;t=60` is 2999 requests left, and t seconds until one more '
        "is allowed once none is left.")},
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, plus the error answers that apply to each operation (a view's own
    ``@extend_schema(responses=...)`` wins for a status it names)."""

    def _get_parameters(self):
        parameters = super()._get_parameters()
        for parameter in parameters:
            if parameter["in"] == "query":  # filters, page, wait: an empty value is the same as none
                parameter["allowEmptyValue"] = True
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, response in self._error_responses().items():
            responses.setdefault(str(code), self._get_response_for_code(response, str(code), direction=direction))
        return responses

    def _get_response_headers_for_code(self, status_code, direction="response"):
        headers = super()._get_response_headers_for_code(status_code, direction)
        headers.update(RATE_LIMIT_HEADERS)
        if str(status_code) in ("429", "503"):
            headers["Retry-After"] = {"schema": {"type": "integer"}, "required": str(status_code) == "429",
                                      "description": "Seconds to wait before retrying."}
        return headers

    def _error_responses(self) -> dict[int, OpenApiResponse]:
        has_body = self.method in ("POST", "PUT", "PATCH")
        paginated = self.method == "GET" and self._get_paginator() is not None
        errors = {}
        if has_body or paginated or self._get_filter_parameters() or self.get_override_parameters():
            errors[400] = error("The request is not valid: `fields` names what is wrong.")
        if self.view.authentication_classes:  # a bad token is refused even where no sign-in is needed
            errors[401] = error("No token, or a token that is not valid.")
        if "{" in self.path or paginated:
            errors[404] = error("Not found, or not yours; or no such page.")
        if has_body:
            errors[413] = error("The request or one of its files is too large.")
            errors[415] = error("A body of a media type the operation does not take, or a file that is "
                                "not an image we can read.")
        if self.view.throttle_classes:
            errors[429] = error("Throttled, or locked out after failed sign-ins: retry after `Retry-After` seconds.")
        errors[503] = error("Briefly unavailable: retry after `Retry-After` seconds.")
        return errors
