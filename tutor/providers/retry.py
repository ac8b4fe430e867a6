"""Bounded, classified retries: which failures are worth another attempt, and how long to wait.

Nothing here retries forever: at most `max_retries` extra attempts, only for retryable kinds
(timeout, rate_limited, server, connection), never for client errors or malformed replies.
A Retry-After longer than `max_retry_after_s` means "give up now" (the caller falls back)
rather than a shortened wait that would only meet another 429.

Tests make backoff instant with `retry_policy=NO_BACKOFF` (Retry-After is still honoured), or
for a whole test with monkeypatch.setattr("tutor.providers.retry.DEFAULT_POLICY", NO_BACKOFF).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from .base import ProviderError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    base_delay_s: float = 0.2  # first backoff; doubles each attempt
    max_delay_s: float = 2.0  # cap on one exponential backoff
    max_retry_after_s: float = 8.0  # a longer Retry-After ends the retries
    jitter: float = 0.5  # the share of each backoff that is randomised away (0: none)

    def delay_for(
        self, error: ProviderError, attempt: int, max_retries: int
    ) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to stop and raise `error`."""
        if not error.retryable or attempt > max_retries:
            return None
        if error.retry_after is not None:
            if error.retry_after > self.max_retry_after_s:
                return None
            return max(0.0, error.retry_after)
        delay: float = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))
        return delay * (1.0 - self.jitter * random.random())


DEFAULT_POLICY = RetryPolicy()
NO_BACKOFF = RetryPolicy(base_delay_s=0.0, max_delay_s=0.0)


def current_policy(policy: RetryPolicy | None) -> RetryPolicy:
    return policy if policy is not None else DEFAULT_POLICY


async def wait_before_retry(
    error: ProviderError, attempt: int, max_retries: int, policy: RetryPolicy
) -> None:
    """Sleep before the next attempt, or re-raise `error` if it should not be retried."""
    delay = policy.delay_for(error, attempt, max_retries)
    if delay is None:
        raise error
    log.info(
        "provider %s on attempt %d, retrying in %.2fs: %s",
        error.kind,
        attempt,
        delay,
        error,
    )
    if delay:
        await asyncio.sleep(delay)


async def with_retries(
    operation: Callable[[], Awaitable[T]],
    *,
    max_retries: int,
    policy: RetryPolicy | None = None,
) -> T:
    """Run a one-shot call (no streaming) with bounded classified retries."""
    policy = current_policy(policy)
    attempt = 0
    while True:
        attempt += 1
        try:
            return await operation()
        except ProviderError as error:
            await wait_before_retry(error, attempt, max_retries, policy)


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `retry-after` as seconds or an HTTP date; None if absent."""
    if not headers:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))
