"""Pytest fixtures for the loopback OpenAI fake.

Enable them for the whole suite with `pytest_plugins = ["tests.fakes.fixtures"]` in the root
conftest.py (the test modules that use them also name the plugin, so they run on their own).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.fakes.openai_server import FakeOpenAI

if TYPE_CHECKING:
    from tutor.providers import ProviderConfig


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    """One fake server for the whole session; use `fake_openai`, which resets it around each test."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """A running FakeOpenAI with no queued replies, faults or recorded requests."""
    fake_openai_server.reset()
    yield fake_openai_server
    fake_openai_server.reset()


@pytest.fixture
def fake_openai_config(fake_openai: FakeOpenAI) -> ProviderConfig:
    """A ProviderConfig for the openai backend pointed at the fake, with short timeouts."""
    from tutor.providers import ProviderConfig

    return ProviderConfig(
        backend="openai",
        model="gpt-4o-mini-2024-07-18",
        base_url=fake_openai.base_url,
        api_key="sk-test",
        params={"temperature": 0.2},
        timeout_s=2.0,
        max_retries=2,
    )


@pytest.fixture
def no_retry_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry immediately instead of backing off (Retry-After is still honoured)."""
    from tutor.providers import retry

    monkeypatch.setattr(retry, "DEFAULT_POLICY", retry.NO_BACKOFF)
