"""The API's answer for a prediction: its fields, digits, lines and alternatives. Shared by
the REST API, the preview endpoint and the webhooks, which send the same body."""
from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from recognition.models import Prediction

class StrictChoiceField(serializers.ChoiceField):
    """A choice field that refuses an empty multipart field. DRF takes a blank form field for
    "not given" and uses the default; here it is a value, and not one of the choices the
    schema lists (JSON already works this way)."""

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, serializers.empty)


class AlternativeSerializer(serializers.Serializer):
    digit = serializers.IntegerField(min_value=0, max_value=9)
    probability = serializers.FloatField(min_value=0, max_value=1)


class DigitSerializer(serializers.Serializer):
    digit = serializers.IntegerField()
    confidence = serializers.FloatField(help_text="Calibrated: the probability that this digit is right.")
    probabilities = serializers.ListField(child=serializers.FloatField(), min_length=10, max_length=10)
    alternatives = AlternativeSerializer(many=True, help_text=(
        "The three likeliest digits with their calibrated probabilities, likeliest first (the "
        "answer's own digit first)."))
    box = serializers.ListField(child=serializers.IntegerField(), min_length=4, max_length=4,
                                help_text="[x, y, width, height] in the image's pixels.")
    doubtful = serializers.BooleanField(help_text=(
        "Number and page mode: this mark was read as a digit although it may be no digit at all "
        "(its not-a-digit score reaches the model's rejection threshold, or wins on a mark as tall as "
        "the number's digits); the answer is then not sure."))
    input_url = serializers.CharField(help_text="The 28x28 image the model saw, as PNG (in a preview, a data: URL).")


class LineSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="The line's digits, left to right.")
    confidence = serializers.FloatField(help_text="Calibrated: the probability that the whole line is right.")
    box = serializers.ListField(child=serializers.IntegerField(), min_length=4, max_length=4,
                                help_text="[x, y, width, height] of the line in the image's pixels.")
    digits = DigitSerializer(many=True, help_text="The line's digits, as in number mode.")


class HintSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=[("looks_like_a_number", (
        "Single-digit mode was given several digits: `number` is how they read in number mode."))])
    number = serializers.CharField()
    message = serializers.CharField()


def hint_for(prediction: Prediction) -> dict | None:
    """What to suggest about the mode: a number given in single-digit mode."""
    if not prediction.number_hint:
        return None
    return {"code": "looks_like_a_number", "number": prediction.number_hint,
            "message": _("This looks like a number: %(number)s") % {"number": prediction.number_hint}}


def _alternatives(digit: dict) -> list[dict]:
    """A digit's top three, as stored; for answers stored before they were, from its probabilities."""
    pairs = digit.get("alternatives")
    if pairs is None:
        ranked = sorted(range(len(digit["probabilities"])), key=lambda d: -digit["probabilities"][d])[:3]
        pairs = [(d, digit["probabilities"][d]) for d in ranked]
    return [{"digit": d, "probability": p} for d, p in pairs]


class PredictionSerializer(serializers.ModelSerializer):
    digit = serializers.IntegerField(allow_null=True, read_only=True,
                                     help_text="The answer in single-digit mode, else null.")
    number = serializers.SerializerMethodField(help_text=(
        "The digits left to right in number mode; in page mode the lines' numbers, top to bottom, "
        "joined by newlines (\\n); else null."))
    probabilities = serializers.ListField(child=serializers.FloatField(), allow_null=True, read_only=True,
                                         help_text="Ten class probabilities in single-digit mode, else null.")
    digits = serializers.SerializerMethodField()
    completed_at = serializers.DateTimeField(source="finished_at", read_only=True, allow_null=True)
    error = serializers.SerializerMethodField()
    error_code = serializers.SerializerMethodField(help_text=(
        "Why it failed, for programs: no_digit (a blank image), not_a_digit (ink, but no digit: "
        "a scribble, a letter, a shape), unreadable, too_many_lines (a page of more lines than are "
        "read) or internal; null unless failed."))
    not_sure = serializers.BooleanField(read_only=True, help_text=(
        "The answer's confidence is below the model's not-sure threshold, or a mark of a number "
        "was read as a digit though it may be no digit: check it, or offer the alternatives. False "
        "while pending and when failed."))
    left_out = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField(), min_length=4, max_length=4),
        read_only=True, help_text="Number and page mode: [x, y, width, height] of each mark read as no digit "
                                  "and left out of the number (on a page, also a line with no digit).")
    lines = serializers.SerializerMethodField(help_text=(
        "Page mode: the lines found, top to bottom (the page's confidence is the probability that "
        "every line is right); else null."))
    hint = serializers.SerializerMethodField()
    feedback_label = serializers.SerializerMethodField()
    image_url = serializers.SerializerMethodField()

    class Meta:
        model = Prediction
        fields = ["id", "status", "mode", "digit", "number", "confidence", "not_sure", "probabilities", "digits",
                  "lines", "left_out", "hint", "source", "model_version", "created_at", "completed_at", "error",
                  "error_code", "feedback_label", "image_url"]
        read_only_fields = fields

    def get_number(self, obj) -> str | None:
        return obj.answer if obj.mode in (Prediction.Mode.NUMBER, Prediction.Mode.PAGE) and obj.answer else None

    @extend_schema_field(DigitSerializer(many=True))
    def get_digits(self, obj) -> list[dict]:
        return [self.digit(obj, index, digit) for index, digit in enumerate(obj.digits)]

    def digit(self, obj, index: int, digit: dict) -> dict:
        return {
            "digit": digit["digit"], "confidence": digit["confidence"],
            "probabilities": digit["probabilities"], "alternatives": _alternatives(digit),
            "box": digit["box"], "doubtful": digit.get("doubtful", False), "input_url": self.input_url(obj, index),
        }

    @extend_schema_field(LineSerializer(many=True, allow_null=True))
    def get_lines(self, obj) -> list[dict] | None:
        if obj.mode != Prediction.Mode.PAGE or obj.status != Prediction.Status.DONE:
            return None
        return [{"number": line["number"], "confidence": line["confidence"], "box": line["box"],
                 "digits": [self.digit(obj, line["first"] + k, digit) for k, digit in enumerate(digits)]}
                for line, digits in obj.line_digits()]

    def input_url(self, obj, index: int) -> str:
        url = reverse("recognition:model-input", args=[obj.pk, index])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    @extend_schema_field(HintSerializer(allow_null=True))
    def get_hint(self, obj) -> dict | None:
        return hint_for(obj)

    def get_error(self, obj) -> str | None:
        return obj.error_message or None

    @extend_schema_field(serializers.ChoiceField(choices=Prediction.ErrorCode.values, allow_null=True))
    def get_error_code(self, obj) -> str | None:
        return obj.error_code or None

    def get_feedback_label(self, obj) -> str | None:
        return obj.feedback_label or None

    def get_image_url(self, obj) -> str:
        url = reverse("recognition:image", args=[obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url
