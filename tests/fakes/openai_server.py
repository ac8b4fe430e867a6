"""A loopback OpenAI-compatible HTTP server for tests and benchmarks.

A small HTTP/1.1 server on asyncio streams, run in a background thread. It is
written against the socket rather than as an ASGI app so that faults happen
where they happen in real life: a reset connection, a body cut short, a chunk
of broken JSON, a server that hangs or stops listening. One event loop serves
hundreds of concurrent SSE streams.

    with FakeOpenAI() as fake:
        fake.queue_reply("Try drawing the fraction first.")
        fake.fail_next(429, retry_after=0.2)
        ...  # point a client at fake.base_url ("http://127.0.0.1:PORT/v1")
        fake.requests  # every request received, with headers and JSON body

Standalone, for benchmarks and manual runs:

    python -m tests.fakes.openai_server --port 8399 --latency-ms 200 --tokens-per-second 50

Endpoints: POST /v1/chat/completions (streamed or not), POST /v1/moderations,
GET /v1/models. Controls are thread-safe and may be called from any thread.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http
import itertools
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("timeout", "malformed", "cut", "stall", "down")
DEFAULT_MODELS = (
    "gpt-4o-mini-2024-07-18",
    "gpt-4o-2024-08-06",
    "gpt-4.1-mini",
    "omni-moderation-latest",
)
MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
DEFAULT_MODERATION_RULES = {
    "self-harm": ("kill myself", "hurt myself", "suicide"),
    "violence": ("kill you", "stab", "shoot you"),
    "harassment": ("you are stupid", "idiot"),
    "sexual": ("porn", "nude"),
}
_TOKEN_RE = re.compile(r"\s*\S+|\s+$")
_WORD_RE = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class FakeReply:
    """A scripted reply. `chunks` overrides how `text` is split into stream deltas."""

    text: str
    chunks: tuple[str, ...] | None = None
    finish_reason: str = "stop"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    def deltas(self) -> list[str]:
        return (
            list(self.chunks)
            if self.chunks is not None
            else _TOKEN_RE.findall(self.text)
        )


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    json: Any  # None when the body is empty or not JSON
    connection_id: int
    fault: str | None  # the injected fault this request received, if any
    received_at: float


@dataclass
class _Fault:
    kind: str  # one of FAULT_KINDS or "status"
    remaining: int
    status: int | None = None
    retry_after: float | None = None
    after_chunks: int | None = None
    hang_s: float | None = None
    path: str | None = None

    @property
    def label(self) -> str:
        return str(self.status) if self.kind == "status" else self.kind


@dataclass
class _Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"


class _Hangup(Exception):
    """Raised inside a handler to drop the connection without a further response."""


@dataclass
class _State:
    replies: list[str | FakeReply] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    first_tokens_sent_at: list[float] = field(default_factory=list)  # one per streamed reply, in order
    latency_s: float = 0.0
    token_delay_s: float = 0.0
    connections_opened: int = 0


def default_reply(body: dict[str, Any]) -> str:
    """A deterministic reply that quotes the last user message."""
    last_user = next(
        (
            _content_text(m.get("content"))
            for m in reversed(body.get("messages") or [])
            if isinstance(m, dict) and m.get("role") == "user"
        ),
        "",
    )
    return f"Let's work through it together. You said: {last_user[:200]}"


def default_moderation(text: str) -> set[str]:
    lowered = text.lower()
    return {
        category
        for category, needles in DEFAULT_MODERATION_RULES.items()
        if any(n in lowered for n in needles)
    }


class FakeOpenAI:
    """An OpenAI-compatible server on 127.0.0.1 with scripted replies and injected faults."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        reply: Callable[[dict[str, Any]], str | FakeReply] = default_reply,
        moderation: Callable[[str], Iterable[str]] = default_moderation,
        latency_s: float = 0.0,
        token_delay_s: float = 0.0,
        hang_s: float = 60.0,
        models: Iterable[str] = DEFAULT_MODELS,
        require_api_key: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.hang_s = hang_s
        self.models = tuple(models)
        self.require_api_key = require_api_key
        self._reply_fn = reply
        self._moderation_fn = moderation
        self._defaults = (latency_s, token_delay_s, reply, moderation)
        self._lock = threading.Lock()
        self._state = _State(latency_s=latency_s, token_delay_s=token_delay_s)
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._release: asyncio.Event | None = None

    # -- lifecycle -----------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> FakeOpenAI:
        if self._thread is not None:
            raise RuntimeError("FakeOpenAI is already running")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(
            target=run, name=f"fake-openai-{self.port}", daemon=True
        )
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(
            timeout=10
        )
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def go_down(self) -> None:
        """Stop listening and drop every open connection: clients get 'connection refused'."""
        self._call(self._close_listener_and_connections())

    def come_up(self) -> None:
        """Listen again on the same port after go_down()."""
        self._call(self._listen())

    def reset(self) -> None:
        """Back to how it was built: no queued replies, faults or records; the constructor's
        latency, rate and reply/moderation functions; hung requests released; listening."""
        latency_s, token_delay_s, reply, moderation = self._defaults
        with self._lock:
            self._state = _State(latency_s=latency_s, token_delay_s=token_delay_s)
            self._reply_fn = reply
            self._moderation_fn = moderation
        if self._loop is not None:
            self._call(self._reset_in_loop())

    # -- controls ------------------------------------------------------------------

    def queue_reply(self, *replies: str | FakeReply) -> None:
        """Script the next chat replies, in order; once used up, the default reply function answers."""
        with self._lock:
            self._state.replies.extend(replies)

    def set_reply(self, reply: Callable[[dict[str, Any]], str | FakeReply]) -> None:
        """Set the function that answers a chat request (given its JSON body) when no reply is queued."""
        with self._lock:
            self._reply_fn = reply

    def set_moderation(self, moderation: Callable[[str], Iterable[str]]) -> None:
        """Set the function that returns the OpenAI moderation categories flagged for one input."""
        with self._lock:
            self._moderation_fn = moderation

    @property
    def latency_s(self) -> float:
        with self._lock:
            return self._state.latency_s

    @latency_s.setter
    def latency_s(self, value: float) -> None:
        with self._lock:
            self._state.latency_s = max(0.0, value)

    @property
    def token_delay_s(self) -> float:
        with self._lock:
            return self._state.token_delay_s

    @token_delay_s.setter
    def token_delay_s(self, value: float) -> None:
        with self._lock:
            self._state.token_delay_s = max(0.0, value)

    def set_token_rate(self, tokens_per_second: float | None) -> None:
        """Stream at this many chunks per second (None or 0: as fast as possible)."""
        self.token_delay_s = 1.0 / tokens_per_second if tokens_per_second else 0.0

    def fail_next(
        self,
        kind: str | int,
        times: int = 1,
        *,
        retry_after: float | None = None,
        after_chunks: int | None = None,
        hang_s: float | None = None,
        path: str | None = None,
    ) -> None:
        """Inject a fault into the next `times` requests (to `path`, e.g. "/v1/chat/completions", or any).

        kind: an HTTP status (429, 500, 400, "429", ...; 429 sends `Retry-After: retry_after`), or
        "timeout" (hang `hang_s` before answering), "malformed" (invalid JSON body, or a broken SSE
        chunk after `after_chunks` good ones, default 0), "cut" (close the connection midway, after
        `after_chunks` chunks, default 2), "stall" (stop sending after `after_chunks` chunks, default
        2, and hang), "down" (reset the connection without answering). Faults queue in order.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        if isinstance(kind, int) or (isinstance(kind, str) and kind.isdigit()):
            status = int(kind)
            if not 400 <= status <= 599:
                raise ValueError(f"fault status must be 4xx or 5xx, not {status}")
            fault = _Fault(
                "status", times, status=status, retry_after=retry_after, path=path
            )
        elif kind in FAULT_KINDS:
            fault = _Fault(
                kind, times, after_chunks=after_chunks, hang_s=hang_s, path=path
            )
        else:
            raise ValueError(
                f"unknown fault {kind!r}; expected an HTTP status or one of {FAULT_KINDS}"
            )
        with self._lock:
            self._state.faults.append(fault)

    # -- inspection ----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return self.requests_to("/v1/chat/completions")

    @property
    def first_tokens_sent_at(self) -> list[float]:
        """time.monotonic() just before each streamed reply's first content chunk was written, in order."""
        with self._lock:
            return list(self._state.first_tokens_sent_at)

    @property
    def connections_opened(self) -> int:
        with self._lock:
            return self._state.connections_opened

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._state.faults)

    # -- event-loop side -----------------------------------------------------------

    def _call(self, coro: Any) -> Any:
        if self._loop is None:
            coro.close()
            raise RuntimeError("FakeOpenAI is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        if self._release is None:
            self._release = asyncio.Event()
        self._server = await asyncio.start_server(
            self._serve_connection,
            self.host,
            self.port,
            backlog=2048,
            reuse_address=True,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close_listener_and_connections(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _reset_in_loop(self) -> None:
        if self._release is not None:
            self._release.set()
        self._release = asyncio.Event()
        await self._listen()

    async def _shutdown(self) -> None:
        if self._release is not None:
            self._release.set()
        await self._close_listener_and_connections()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        with self._lock:
            self._state.connections_opened += 1
        connection_id = next(self._ids)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                if not await self._respond(request, writer, connection_id):
                    break
        except (
            _Hangup,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ValueError,
        ):
            pass
        except asyncio.CancelledError:
            _reset(writer)
        finally:
            self._connections.discard(task)
            writer.close()

    async def _respond(
        self, request: _Request, writer: asyncio.StreamWriter, connection_id: int
    ) -> bool:
        """Answer one request; return whether the connection stays open."""
        fault = self._take_fault(request.path)
        self._record(request, connection_id, fault)
        if fault is not None and fault.kind == "down":
            _reset(writer)
            raise _Hangup
        if fault is not None and fault.kind == "timeout":
            if await self._hang(fault.hang_s):
                raise _Hangup
            fault = None
        if fault is not None and fault.kind == "status":
            await _send_error(
                writer, fault.status or 500, retry_after=fault.retry_after
            )
            return request.keep_alive
        if (
            self.require_api_key
            and request.headers.get("authorization") != f"Bearer {self.require_api_key}"
        ):
            await _send_error(writer, 401)
            return request.keep_alive

        route = (request.method, request.path)
        if route == ("GET", "/v1/models"):
            data = [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"}
                for m in self.models
            ]
            await _send_json(writer, 200, {"object": "list", "data": data})
        elif route == ("POST", "/v1/chat/completions"):
            return await self._chat(request, writer, fault)
        elif route == ("POST", "/v1/moderations"):
            return await self._moderations(request, writer, fault)
        elif request.path in ("/v1/models", "/v1/chat/completions", "/v1/moderations"):
            await _send_error(writer, 405)
        else:
            await _send_error(writer, 404)
        return request.keep_alive

    async def _chat(
        self, request: _Request, writer: asyncio.StreamWriter, fault: _Fault | None
    ) -> bool:
        body = _json_or_none(request.body)
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("model"), str)
            or not isinstance(body.get("messages"), list)
        ):
            await _send_error(
                writer,
                400,
                message="A JSON body with 'model' and 'messages' is required.",
            )
            return request.keep_alive
        reply = self._next_reply(body)
        with self._lock:
            latency, token_delay = self._state.latency_s, self._state.token_delay_s
        deltas = reply.deltas()
        prompt_tokens = (
            reply.prompt_tokens
            if reply.prompt_tokens is not None
            else _count_prompt_tokens(body["messages"])
        )
        completion_tokens = (
            reply.completion_tokens
            if reply.completion_tokens is not None
            else len(deltas)
        )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }
        completion_id = f"chatcmpl-fake{next(self._ids)}"
        created = int(time.time())
        model = body["model"]
        if latency:
            await asyncio.sleep(latency)

        if not body.get("stream"):
            if len(deltas) > 1 and token_delay:
                await asyncio.sleep(token_delay * (len(deltas) - 1))
            if fault is not None and fault.kind == "malformed":
                await _send_raw(
                    writer,
                    200,
                    b'{"id": "'
                    + completion_id.encode()
                    + b'", "choices": [{"message": ',
                    content_type="application/json",
                )
                return request.keep_alive
            payload = {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": reply.text,
                            "refusal": None,
                        },
                        "logprobs": None,
                        "finish_reason": reply.finish_reason,
                    }
                ],
                "usage": usage,
            }
            if fault is not None and fault.kind in ("cut", "stall"):
                encoded = json.dumps(payload).encode()
                await _send_head(
                    writer,
                    200,
                    [
                        ("Content-Type", "application/json"),
                        ("Content-Length", str(len(encoded))),
                    ],
                )
                writer.write(encoded[: len(encoded) // 2])
                await writer.drain()
                if fault.kind == "stall":
                    await self._hang(fault.hang_s)
                raise _Hangup
            await _send_json(writer, 200, payload)
            return request.keep_alive

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(
            delta: dict[str, Any], finish_reason: str | None = None
        ) -> dict[str, Any]:
            data: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {
                        "index": 0,
                        "delta": delta,
                        "logprobs": None,
                        "finish_reason": finish_reason,
                    }
                ],
            }
            if include_usage:
                data["usage"] = None
            return data

        await _send_head(
            writer,
            200,
            [
                ("Content-Type", "text/event-stream; charset=utf-8"),
                ("Cache-Control", "no-cache"),
                ("Transfer-Encoding", "chunked"),
            ],
        )
        await _send_chunk(
            writer, _sse(chunk({"role": "assistant", "content": "", "refusal": None}))
        )
        fault_at = None
        if fault is not None and fault.kind in ("malformed", "cut", "stall"):
            default_after = 0 if fault.kind == "malformed" else 2
            fault_at = min(
                fault.after_chunks if fault.after_chunks is not None else default_after,
                len(deltas),
            )
        for index, delta in enumerate(deltas):
            if index == fault_at:
                break
            if index and token_delay:
                await asyncio.sleep(token_delay)
            if not index:  # stamped before the write: the client may read it before drain returns
                with self._lock:
                    self._state.first_tokens_sent_at.append(time.monotonic())
            await _send_chunk(writer, _sse(chunk({"content": delta})))
        if fault is not None and fault_at is not None:
            if fault.kind == "malformed":
                await _send_chunk(
                    writer,
                    b'data: {"id": "'
                    + completion_id.encode()
                    + b'", "choices": [{"delta": {"content": "oops"\n\n',
                )
                await _send_chunk(writer, b"data: [DONE]\n\n")
                await _send_chunk(writer, b"")
                return request.keep_alive
            if fault.kind == "stall":
                await self._hang(fault.hang_s)
            raise _Hangup  # "cut": close without the terminating chunk or [DONE]
        await _send_chunk(writer, _sse(chunk({}, reply.finish_reason)))
        if include_usage:
            final = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [],
                "usage": usage,
            }
            await _send_chunk(writer, _sse(final))
        await _send_chunk(writer, b"data: [DONE]\n\n")
        await _send_chunk(writer, b"")
        return request.keep_alive

    async def _moderations(
        self, request: _Request, writer: asyncio.StreamWriter, fault: _Fault | None
    ) -> bool:
        body = _json_or_none(request.body)
        if not isinstance(body, dict) or "input" not in body:
            await _send_error(
                writer, 400, message="A JSON body with 'input' is required."
            )
            return request.keep_alive
        if fault is not None and fault.kind == "malformed":
            await _send_raw(
                writer,
                200,
                b'{"id": "modr-fake", "results": [',
                content_type="application/json",
            )
            return request.keep_alive
        if fault is not None and fault.kind in ("cut", "stall"):
            raise _Hangup
        raw = body["input"]
        inputs = [raw] if isinstance(raw, str) else list(raw)
        with self._lock:
            moderation_fn = self._moderation_fn
        results = []
        for item in inputs:
            text = (
                item
                if isinstance(item, str)
                else str(item.get("text", ""))
                if isinstance(item, dict)
                else ""
            )
            flagged_categories = set(moderation_fn(text))
            for category in list(flagged_categories):
                if "/" in category:
                    flagged_categories.add(category.split("/", 1)[0])
            results.append(
                {
                    "flagged": bool(flagged_categories),
                    "categories": {
                        c: c in flagged_categories for c in MODERATION_CATEGORIES
                    },
                    "category_scores": {
                        c: 0.97 if c in flagged_categories else 0.0004
                        for c in MODERATION_CATEGORIES
                    },
                    "category_applied_input_types": {
                        c: ["text"] for c in MODERATION_CATEGORIES
                    },
                }
            )
        await _send_json(
            writer,
            200,
            {
                "id": f"modr-fake{next(self._ids)}",
                "model": body.get("model") or "omni-moderation-latest",
                "results": results,
            },
        )
        return request.keep_alive

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._state.faults:
                if fault.path is None or fault.path == path:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._state.faults.remove(fault)
                    return fault
        return None

    def _record(
        self, request: _Request, connection_id: int, fault: _Fault | None
    ) -> None:
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            headers=dict(request.headers),
            body=request.body,
            json=_json_or_none(request.body),
            connection_id=connection_id,
            fault=fault.label if fault else None,
            received_at=time.monotonic(),
        )
        with self._lock:
            self._state.requests.append(recorded)

    def _next_reply(self, body: dict[str, Any]) -> FakeReply:
        with self._lock:
            reply = self._state.replies.pop(0) if self._state.replies else None
            reply_fn = self._reply_fn
        if reply is None:
            reply = reply_fn(body)
        return FakeReply(reply) if isinstance(reply, str) else reply

    async def _hang(self, seconds: float | None) -> bool:
        """Wait `seconds` (default hang_s); return True if released early by reset() or stop()."""
        release = self._release
        assert release is not None
        try:
            await asyncio.wait_for(
                release.wait(), self.hang_s if seconds is None else seconds
            )
        except TimeoutError:
            return False
        return True


# -- HTTP/1.1 plumbing ------------------------------------------------------------


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    request = _Request(method.upper(), target, version.strip(), headers)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        request.body = b"".join(parts)
    elif headers.get("content-length"):
        request.body = await reader.readexactly(int(headers["content-length"]))
    return request


async def _send_head(
    writer: asyncio.StreamWriter, status: int, headers: list[tuple[str, str]]
) -> None:
    lines = [
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}",
        "Server: fake-openai",
        *(f"{k}: {v}" for k, v in headers),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()


async def _send_raw(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    *,
    content_type: str,
    extra: list[tuple[str, str]] | None = None,
) -> None:
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        *(extra or []),
    ]
    lines = [
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}",
        "Server: fake-openai",
        *(f"{k}: {v}" for k, v in headers),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()


async def _send_json(
    writer: asyncio.StreamWriter,
    status: int,
    payload: Any,
    *,
    extra: list[tuple[str, str]] | None = None,
) -> None:
    await _send_raw(
        writer,
        status,
        json.dumps(payload).encode(),
        content_type="application/json",
        extra=extra,
    )


async def _send_error(
    writer: asyncio.StreamWriter,
    status: int,
    *,
    retry_after: float | None = None,
    message: str | None = None,
) -> None:
    kinds = {
        400: ("invalid_request_error", None),
        401: ("invalid_request_error", "invalid_api_key"),
        404: ("invalid_request_error", "unknown_url"),
        429: ("requests", "rate_limit_exceeded"),
    }
    error_type, code = kinds.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    extra = [("Retry-After", f"{retry_after:g}")] if retry_after is not None else []
    payload = {
        "error": {
            "message": message
            or f"Fake error {status} {http.HTTPStatus(status).phrase}.",
            "type": error_type,
            "param": None,
            "code": code,
        }
    }
    await _send_json(writer, status, payload, extra=extra)


async def _send_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(b"%x\r\n%s\r\n" % (len(data), data))
    await writer.drain()


def _sse(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def _reset(writer: asyncio.StreamWriter) -> None:
    """Abort the connection with a TCP reset."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
    writer.transport.abort()


def _json_or_none(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict)
        )
    return ""


def _count_prompt_tokens(messages: list[Any]) -> int:
    return sum(
        4 + len(_WORD_RE.findall(_content_text(m.get("content"))))
        for m in messages
        if isinstance(m, dict)
    )


# -- standalone --------------------------------------------------------------------


def _always(text: str) -> Callable[[dict[str, Any]], str]:
    def reply(body: dict[str, Any]) -> str:
        return text

    return reply


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Run the fake OpenAI-compatible server until interrupted."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8399)
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay before the first token"
    )
    parser.add_argument(
        "--tokens-per-second",
        type=float,
        default=0.0,
        help="stream rate (0: as fast as possible)",
    )
    parser.add_argument("--reply", help="always answer with this text")
    parser.add_argument(
        "--reply-words", type=int, help="always answer with this many words"
    )
    args = parser.parse_args(argv)

    reply_fn: Callable[[dict[str, Any]], str | FakeReply] = default_reply
    if args.reply is not None:
        reply_fn = _always(args.reply)
    elif args.reply_words:
        reply_fn = _always(" ".join(f"word{i % 97}" for i in range(args.reply_words)))
    fake = FakeOpenAI(
        args.host, args.port, reply=reply_fn, latency_s=args.latency_ms / 1000
    )
    fake.set_token_rate(args.tokens_per_second)
    with fake:
        print(f"fake OpenAI listening: OPENAI_BASE_URL={fake.base_url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
