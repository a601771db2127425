"""manage.py calibrate_model: an artifact's calibration refitted on the tuning part."""
import io
import json
import shutil

import pytest
from django.conf import settings
from django.core.management import call_command

from ml.artifact import newest

SHIPPED = newest(settings.ML_ARTIFACTS_DIR)


@pytest.fixture
def artifact(tmp_path):
    folder = tmp_path / SHIPPED.name
    shutil.copytree(SHIPPED, folder)
    return folder


def test_it_refits_the_calibration_and_reports_the_rule_inside_numbers(artifact, settings, generated_data_cache):
    with generated_data_cache("calibrate-model") as folder:
        settings.VAR_DIR = folder
        out = io.StringIO()
        call_command("calibrate_model", model=artifact, quick=True, stdout=out)
    metadata = json.loads((artifact / "metadata.json").read_text())
    calibration = metadata["calibration"]
    assert f"Calibrated {artifact}" in out.getvalue()
    numbers = calibration["in_numbers"]
    assert 0.05 <= calibration["values"]["temperature"] <= 20 and "lines of pages (" in numbers["measured_on"]
    assert numbers["non_digit_marks"] == (numbers["non_digit_marks_left_out"] + numbers["non_digit_marks_flagged"]
                                          + numbers["non_digit_marks_read"])
    # Inside a number fewer digits are left out than alone, never more.
    assert numbers["digits_left_out"] <= numbers["digits_left_out_by_the_single_digit_rule"]
    assert numbers["digits"] >= 60  # 40 lines of 2-6 digits, most cut into as many marks
    # Only the calibration changed: the model and its training record are the shipped ones.
    shipped = json.loads((SHIPPED / "metadata.json").read_text())
    assert metadata["model_sha256"] == shipped["model_sha256"] and metadata["history"] == shipped["history"]
