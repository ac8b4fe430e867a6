"""The OpenAI (and any OpenAI-compatible endpoint) backend.

The SDK's own retries are off (max_retries=0): retries are decided once, in stream_reply.
One pooled AsyncOpenAI client per (base_url, api_key) per event loop: an httpx client is
bound to the loop it first ran on, so each loop (the ASGI server's, a Celery task's
asyncio.run, an async_to_sync call) gets its own. Clients of closed loops are dropped on the
next lookup; to close their connections cleanly, `await aclose_clients()` before a
short-lived loop ends.

Requests and responses go through the SDK's client (its HTTP, auth, errors and SSE decoding)
as plain JSON rather than its typed models: building those costs more CPU than the HTTP call
itself, on every turn and on every eval call.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import Any

import openai

from .base import ProviderConfig, ProviderError, TutorRequest, Usage
from .retry import parse_retry_after

CONNECT_TIMEOUT_S = 5.0
# Request fields the provider layer owns; release params cannot override them.
RESERVED_PARAMS = frozenset({"model", "messages", "stream", "stream_options", "n"})
UNSENT_KEY = "unused"  # sent to keyless OpenAI-compatible servers (vLLM, Ollama) when a base_url is set


def classify(exc: openai.OpenAIError | ValueError) -> ProviderError:
    """Map an SDK exception (or a decoding ValueError) to a ProviderError."""
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError("timeout", f"timed out{_cause(exc)}")
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError("connection", f"connection failed{_cause(exc)}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        headers: Mapping[str, str] | None = getattr(exc.response, "headers", None)
        message = f"HTTP {status}: {exc.message}"
        if status == 429:
            return ProviderError(
                "rate_limited",
                message,
                retry_after=parse_retry_after(headers),
                status_code=status,
            )
        if status == 408:
            return ProviderError("timeout", message, status_code=status)
        if status >= 500:
            return ProviderError(
                "server",
                message,
                retry_after=parse_retry_after(headers),
                status_code=status,
            )
        return ProviderError("client", message, status_code=status)
    if isinstance(exc, openai.APIResponseValidationError | ValueError):
        return ProviderError("malformed", f"malformed response: {exc}")
    if isinstance(exc, openai.APIError):  # an error event inside a stream
        return ProviderError("server", f"provider error: {exc}")
    return ProviderError("client", str(exc))  # e.g. missing credentials


class OpenAIBackend:
    name = "openai"

    def __init__(self) -> None:
        self._clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop,
            dict[tuple[str | None, str | None], openai.AsyncOpenAI],
        ] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def client_for(self, config: ProviderConfig) -> openai.AsyncOpenAI:
        """The pooled client for this config's endpoint and key on the running event loop."""
        loop = asyncio.get_running_loop()
        key = (config.base_url, config.api_key)
        with self._lock:
            self._forget_closed_loops()
            clients = self._clients.setdefault(loop, {})
            client = clients.get(key)
            if client is None:
                api_key = config.api_key or (UNSENT_KEY if config.base_url else None)
                try:
                    client = openai.AsyncOpenAI(
                        base_url=config.base_url,
                        api_key=api_key,
                        max_retries=0,
                        timeout=_timeout(config),
                        # Our own httpx client: unlike the SDK's default one it does not, when
                        # dropped with a closed loop, schedule its aclose() on the current loop.
                        http_client=openai.DefaultAsyncHttpxClient(),
                    )
                except openai.OpenAIError as exc:
                    raise classify(exc) from exc
                clients[key] = client
        return client

    def _forget_closed_loops(self) -> None:
        # A pooled client's sockets reference its loop, so the weak key alone never lets go.
        for loop in [loop for loop in self._clients if loop.is_closed()]:
            del self._clients[loop]

    async def aclose(self) -> None:
        """Close the clients pooled for the running event loop."""
        with self._lock:
            clients = self._clients.pop(asyncio.get_running_loop(), {})
        for client in clients.values():
            await client.close()

    async def stream(
        self, config: ProviderConfig, request: TutorRequest, usage: Usage
    ) -> AsyncIterator[str]:
        client = self.client_for(config)
        extra = {k: v for k, v in config.params.items() if k not in RESERVED_PARAMS}
        kwargs: dict[str, Any] = {
            "model": config.model,
            "messages": [
                {"role": m.role, "content": m.content} for m in request.messages
            ],
            "timeout": _timeout(config),
            "extra_body": extra or None,
        }
        if config.params.get("stream", True) is False or not request.incremental:
            text = await self._complete(client, kwargs, usage)
            if text:
                yield text
            return

        try:
            stream = await client.post(
                "/chat/completions",
                body={**_body(kwargs), "stream": True, "stream_options": {"include_usage": True}},
                cast_to=object,
                stream=True,
                stream_cls=openai.AsyncStream[object],
                options={"timeout": kwargs["timeout"]},
            )
        except (openai.OpenAIError, ValueError) as exc:
            raise classify(exc) from exc
        finished = False
        try:
            async for chunk in stream:
                for delta in _read_chunk(chunk, usage):
                    if delta is None:
                        finished = True
                    else:
                        yield delta
        except (openai.OpenAIError, ValueError) as exc:
            raise classify(exc) from exc
        finally:
            with contextlib.suppress(Exception):  # never mask the real failure
                await stream.close()
        if not finished:
            raise ProviderError(
                "connection", "the stream ended before the reply was complete"
            )

    async def _complete(
        self, client: openai.AsyncOpenAI, kwargs: dict[str, Any], usage: Usage
    ) -> str:
        """A whole reply, posted as plain JSON (see the module docstring)."""
        try:
            completion = await client.post(
                "/chat/completions", body=_body(kwargs), cast_to=object, options={"timeout": kwargs["timeout"]}
            )
        except (openai.OpenAIError, ValueError) as exc:
            raise classify(exc) from exc
        if not isinstance(completion, dict):
            raise ProviderError("malformed", "completion is not a JSON object")
        choices = completion.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ProviderError("malformed", "completion without choices")
        message = choices[0].get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if content is not None and not isinstance(content, str):
            raise ProviderError("malformed", "completion content is not text")
        usage.model = completion.get("model") or usage.model
        usage.finish_reason = choices[0].get("finish_reason")
        reported = completion.get("usage")
        if isinstance(reported, dict):
            usage.tokens_in = reported.get("prompt_tokens", usage.tokens_in)
            usage.tokens_out = reported.get("completion_tokens", usage.tokens_out)
        return content or ""

    async def moderate(
        self, text: str, config: ProviderConfig, *, model: str
    ) -> tuple[bool, dict[str, bool]]:
        """(flagged, {OpenAI category name: flagged}) for one text."""
        client = self.client_for(config)
        try:
            response = await client.post(
                "/moderations",
                body={"input": text, "model": model},
                cast_to=object,
                options={"timeout": _timeout(config)},
            )
        except (openai.OpenAIError, ValueError) as exc:
            raise classify(exc) from exc
        results = response.get("results") if isinstance(response, dict) else None
        if not isinstance(results, list) or not results or not isinstance(results[0], dict):
            raise ProviderError("malformed", "moderation response without results")
        categories = results[0].get("categories") or {}
        if not isinstance(categories, dict):
            raise ProviderError("malformed", "moderation categories are not readable")
        return bool(results[0].get("flagged", False)), {
            str(k): bool(v) for k, v in categories.items()
        }


def _body(kwargs: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in kwargs.items() if k not in ("timeout", "extra_body")}
    body.update(kwargs.get("extra_body") or {})
    return body


def _read_chunk(chunk: Any, usage: Usage) -> list[str | None]:
    """The text deltas of one stream chunk, with None marking the end of the reply."""
    if not isinstance(chunk, dict):
        raise ProviderError("malformed", "stream chunk is not an object")
    reported = chunk.get("usage")
    choices = chunk.get("choices")
    if not isinstance(choices, list) or (not choices and reported is None):
        raise ProviderError("malformed", "stream chunk without choices")
    usage.model = chunk.get("model") or usage.model
    if isinstance(reported, dict):
        _read_usage(reported, usage)
    deltas: list[str | None] = []
    for choice in choices:
        if not isinstance(choice, dict):
            raise ProviderError("malformed", "stream choice is not an object")
        if (choice.get("index") or 0) != 0:
            continue
        delta = choice.get("delta")
        content = delta.get("content") if isinstance(delta, dict) else None
        if content is not None and not isinstance(content, str):
            raise ProviderError("malformed", "delta content is not text")
        if content:
            deltas.append(content)
        if choice.get("finish_reason"):
            usage.finish_reason = choice["finish_reason"]
            deltas.append(None)
    return deltas


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return f": {type(cause).__name__}: {cause}" if cause is not None else ""


def _timeout(config: ProviderConfig) -> openai.Timeout:
    return openai.Timeout(
        config.timeout_s, connect=min(config.timeout_s, CONNECT_TIMEOUT_S)
    )


def _read_usage(reported: dict[str, Any], usage: Usage) -> None:
    tokens_in = reported.get("prompt_tokens")
    tokens_out = reported.get("completion_tokens")
    if isinstance(tokens_in, int):
        usage.tokens_in = tokens_in
    if isinstance(tokens_out, int):
        usage.tokens_out = tokens_out
