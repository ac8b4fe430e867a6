"""Settings fail loudly on bad values: run in a fresh interpreter, as a deployment would."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from tutor.settings import database_from_url


def _import_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG", "SECRET_KEY")}
    return subprocess.run(
        [sys.executable, "-c", "import tutor.settings"], env={**clean, **env}, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    "url",
    ["postgres://", "postgres://host", "postgres://u@host:notaport/db", "mysql://u@h/db", "sqlite://", "nonsense"],
)
def test_it_refuses_a_malformed_database_url(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url(url)


def test_it_parses_a_postgres_url():
    parsed = database_from_url("postgres://me:p%40ss@db.example:6543/tutor?sslmode=require")
    assert (parsed["ENGINE"], parsed["NAME"], parsed["USER"], parsed["PASSWORD"]) == (
        "django.db.backends.postgresql", "tutor", "me", "p@ss",
    )  # fmt: skip
    assert (parsed["HOST"], parsed["PORT"], parsed["OPTIONS"]) == ("db.example", "6543", {"sslmode": "require"})


def test_it_stops_startup_with_a_clear_message_on_a_bad_database_url():
    result = _import_settings(DATABASE_URL="postgres://nohost")
    assert result.returncode != 0
    assert "DATABASE_URL='postgres://nohost' is malformed" in result.stderr


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = _import_settings(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_refuses_a_non_boolean_debug():
    result = _import_settings(DEBUG="maybe")
    assert "DEBUG='maybe' is not a boolean" in result.stderr
