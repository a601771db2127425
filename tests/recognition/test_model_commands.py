"""The commands that work on the serving model, on a database that was never migrated: a
clear error, no traceback."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings


@pytest.mark.parametrize("command", ["evaluate_model", "calibrate_model"])
def test_without_migrations_it_says_to_migrate_first(command, tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}", "DJANGO_ENV": "development"}
    result = subprocess.run([sys.executable, "manage.py", command], cwd=Path(settings.BASE_DIR), env=env,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 1
    assert "run `manage.py migrate` first, or name an artifact with --model" in result.stderr
    assert "Traceback" not in result.stderr
