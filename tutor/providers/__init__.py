"""The provider layer: the one place that talks to models.

    result = StreamResult()
    async with contextlib.aclosing(stream_reply(config, request, result)) as deltas:
        async for delta in deltas:
            ...  # send to the browser
    # result.text, tokens, latency, attempts, cost are now final

(aclosing makes an early exit, e.g. the browser going away, close the upstream request at
once rather than when the generator is garbage-collected.)

Failures surface as ProviderError. Retries (bounded, classified) happen only before the
first delta; once text has been yielded a failure raises ProviderError(kind="interrupted")
and the caller decides the fallback, so no text is ever yielded twice.

Backends: "openai" is built in (loaded on first use). Others register themselves, e.g. in
an AppConfig.ready(): register_backend("offline", OfflineTutorBackend()).
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncGenerator

from .base import (
    Backend,
    ChatMessage,
    ErrorKind,
    ProviderConfig,
    ProviderError,
    StreamResult,
    TutorRequest,
    Usage,
    get_backend,
    loaded_backends,
    register_backend,
    unregister_backend,
)
from .moderation import ModerationResult, classify_offline, moderate
from .pricing import estimate_cost, known_models
from .retry import NO_BACKOFF, RetryPolicy, current_policy, wait_before_retry

__all__ = [
    "NO_BACKOFF",
    "Backend",
    "ChatMessage",
    "ErrorKind",
    "ModerationResult",
    "ProviderConfig",
    "ProviderError",
    "RetryPolicy",
    "StreamResult",
    "TutorRequest",
    "Usage",
    "aclose_clients",
    "classify_offline",
    "complete",
    "estimate_cost",
    "get_backend",
    "known_models",
    "loaded_backends",
    "moderate",
    "register_backend",
    "stream_reply",
    "unregister_backend",
]

FREE_BACKENDS = frozenset({"offline", "replay"})


async def stream_reply(
    config: ProviderConfig,
    request: TutorRequest,
    result: StreamResult,
    *,
    retry_policy: RetryPolicy | None = None,
) -> AsyncGenerator[str, None]:
    """Yield the reply's text deltas, filling `result` as they come (final when iteration ends or fails)."""
    policy = current_policy(retry_policy)
    started = time.perf_counter()
    result.model = config.model
    usage = Usage()
    try:
        backend = get_backend(config.backend)
        while True:
            result.attempts += 1
            usage = Usage()
            deltas = backend.stream(config, request, usage)
            try:
                async for delta in deltas:
                    if not delta:
                        continue
                    if result.first_token_ms is None:
                        result.first_token_ms = (time.perf_counter() - started) * 1000
                    result.text += delta
                    yield delta
                return
            except ProviderError as error:
                if result.text:
                    raise ProviderError(
                        "interrupted",
                        f"the reply broke off after {len(result.text)} characters ({error.kind}: {error})",
                        retryable=False,
                        status_code=error.status_code,
                    ) from error
                await wait_before_retry(
                    error, result.attempts, config.max_retries, policy
                )
            finally:
                aclose = getattr(deltas, "aclose", None)
                if aclose is not None:
                    await aclose()
    finally:
        _finish(result, config, request, usage, started)


async def complete(
    config: ProviderConfig,
    request: TutorRequest,
    *,
    retry_policy: RetryPolicy | None = None,
) -> StreamResult:
    """The whole reply at once (same retries and errors as stream_reply)."""
    result = StreamResult()
    async for _ in stream_reply(config, request, result, retry_policy=retry_policy):
        pass
    return result


async def aclose_clients() -> None:
    """Close pooled clients bound to the running event loop; call before a short-lived loop ends."""
    for backend in loaded_backends().values():
        aclose = getattr(backend, "aclose", None)
        if aclose is not None:
            await aclose()


def _finish(
    result: StreamResult,
    config: ProviderConfig,
    request: TutorRequest,
    usage: Usage,
    started: float,
) -> None:
    result.total_ms = (time.perf_counter() - started) * 1000
    result.model = usage.model or config.model
    result.finish_reason = usage.finish_reason
    # Backends that report no usage (or a stream cut before the usage chunk): estimate.
    if usage.tokens_in is not None:
        result.tokens_in = usage.tokens_in
    elif result.text:
        result.tokens_in = _estimate_tokens(
            sum(len(m.content) for m in request.messages)
        )
    if usage.tokens_out is not None:
        result.tokens_out = usage.tokens_out
    else:
        result.tokens_out = _estimate_tokens(len(result.text))
    if usage.cost_usd is not None:
        result.cost_usd = usage.cost_usd
    elif config.backend in FREE_BACKENDS:
        result.cost_usd = 0.0
    else:
        result.cost_usd = estimate_cost(
            result.model, result.tokens_in, result.tokens_out
        )
        if result.cost_usd is None:  # an unlisted snapshot of a listed model id
            result.cost_usd = estimate_cost(
                config.model, result.tokens_in, result.tokens_out
            )


def _estimate_tokens(chars: int) -> int:
    """About four characters a token: used only when a backend reports no usage."""
    return math.ceil(chars / 4)
