"""The loopback OpenAI fake, checked over plain HTTP (httpx) so its wire format is pinned down."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.openai_server import MODERATION_CATEGORIES, FakeOpenAI, FakeReply

CHAT = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "What is 2 + 2?"}],
}
STREAM = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}


def sse_events(text: str) -> list[Any]:
    """The data payloads of an SSE body, [DONE] kept as a string."""
    events = []
    for block in text.split("\n\n"):
        if block.startswith("data: "):
            data = block.removeprefix("data: ")
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def test_it_lists_models(fake_openai: FakeOpenAI) -> None:
    response = httpx.get(f"{fake_openai.base_url}/models")

    assert response.status_code == 200
    assert response.json()["object"] == "list"
    assert "gpt-4o-mini-2024-07-18" in [m["id"] for m in response.json()["data"]]


def test_it_answers_a_chat_completion_with_usage(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue_reply("Four.")

    body = httpx.post(f"{fake_openai.base_url}/chat/completions", json=CHAT).json()

    assert body["object"] == "chat.completion"
    assert body["model"] == "gpt-4o-mini"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Four.", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    assert body["usage"]["completion_tokens"] == 1
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + 1


def test_it_streams_chunks_then_usage_then_done(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue_reply("Two plus two is four.")

    response = httpx.post(f"{fake_openai.base_url}/chat/completions", json=STREAM)
    events = sse_events(response.text)

    assert response.headers["content-type"].startswith("text/event-stream")
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert (
        "".join(
            c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]
        )
        == "Two plus two is four."
    )
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 5


def test_it_sends_no_usage_chunk_unless_asked(fake_openai: FakeOpenAI) -> None:
    response = httpx.post(
        f"{fake_openai.base_url}/chat/completions", json={**CHAT, "stream": True}
    )
    chunks = sse_events(response.text)[:-1]

    assert all(c["choices"] for c in chunks)
    assert all("usage" not in c for c in chunks)


def test_it_plays_queued_replies_in_order_then_the_reply_function(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.queue_reply("first", FakeReply("second", chunks=("sec", "ond")))
    fake_openai.set_reply(lambda body: f"echo {body['messages'][-1]['content']}")

    texts = [
        httpx.post(f"{fake_openai.base_url}/chat/completions", json=CHAT).json()[
            "choices"
        ][0]["message"]["content"]
        for _ in range(3)
    ]

    assert texts == ["first", "second", "echo What is 2 + 2?"]


def test_it_records_every_request_with_headers_and_body(
    fake_openai: FakeOpenAI,
) -> None:
    httpx.post(
        f"{fake_openai.base_url}/chat/completions",
        json=CHAT,
        headers={"Authorization": "Bearer sk-x"},
    )
    httpx.get(f"{fake_openai.base_url}/models")

    chat, models = fake_openai.requests

    assert (chat.method, chat.path, chat.json, chat.fault) == (
        "POST",
        "/v1/chat/completions",
        CHAT,
        None,
    )
    assert chat.headers["authorization"] == "Bearer sk-x"
    assert (models.method, models.path, models.json) == ("GET", "/v1/models", None)
    assert fake_openai.chat_requests == [chat]


def test_it_waits_before_the_first_token_and_between_tokens(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.latency_s = 0.15
    fake_openai.set_token_rate(20)  # 50 ms between chunks
    fake_openai.queue_reply("one two three")

    started = time.perf_counter()
    arrivals = []
    with httpx.stream(
        "POST", f"{fake_openai.base_url}/chat/completions", json=STREAM
    ) as response:
        for line in response.iter_lines():
            if '"content":"' in line and '"content":""' not in line:
                arrivals.append(time.perf_counter() - started)

    assert len(arrivals) == 3
    assert arrivals[0] >= 0.15
    assert arrivals[2] >= 0.15 + 2 * 0.05


def test_it_records_when_it_wrote_each_streams_first_token(fake_openai: FakeOpenAI) -> None:
    fake_openai.latency_s = 0.1
    httpx.post(f"{fake_openai.base_url}/chat/completions", json=CHAT)  # not streamed: not recorded
    first_seen = []
    for _ in range(2):
        with httpx.stream("POST", f"{fake_openai.base_url}/chat/completions", json=STREAM) as response:
            content_lines = (line for line in response.iter_lines() if '"content":"' in line and '"content":""' not in line)
            next(content_lines)
            first_seen.append(time.monotonic())
            list(content_lines)  # the rest of the stream

    sent = fake_openai.first_tokens_sent_at
    streamed = fake_openai.chat_requests[1:]
    assert len(sent) == len(streamed) == 2
    for request, sent_at, seen_at in zip(streamed, sent, first_seen, strict=True):
        assert request.received_at + 0.099 <= sent_at <= seen_at  # asyncio may wake a hair early


def test_it_returns_429_with_retry_after_then_recovers(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(429, retry_after=0.25)

    limited = httpx.post(f"{fake_openai.base_url}/chat/completions", json=CHAT)
    ok = httpx.post(f"{fake_openai.base_url}/chat/completions", json=CHAT)

    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "0.25"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert ok.status_code == 200
    assert [r.fault for r in fake_openai.requests] == ["429", None]


def test_it_applies_queued_faults_in_order_and_only_to_their_path(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.fail_next(500, times=2, path="/v1/chat/completions")
    fake_openai.fail_next(400)

    statuses = [
        httpx.get(f"{fake_openai.base_url}/models").status_code,
        httpx.post(f"{fake_openai.base_url}/chat/completions", json=CHAT).status_code,
        httpx.post(f"{fake_openai.base_url}/chat/completions", json=CHAT).status_code,
        httpx.post(f"{fake_openai.base_url}/chat/completions", json=CHAT).status_code,
    ]

    assert statuses == [400, 500, 500, 200]
    assert fake_openai.pending_faults == 0


def test_it_hangs_past_the_client_timeout(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next("timeout")

    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{fake_openai.base_url}/chat/completions", json=CHAT, timeout=0.2)


def test_it_releases_hung_requests_on_reset(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next("timeout", hang_s=30)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            httpx.post(
                f"{fake_openai.base_url}/chat/completions", json=CHAT, timeout=10
            )
        except httpx.HTTPError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 5
    while not fake_openai.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.perf_counter()
    fake_openai.reset()
    caller.join(timeout=5)

    assert time.perf_counter() - started < 2
    assert [type(e) for e in outcome] == [httpx.RemoteProtocolError]


def test_it_sends_malformed_json(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next("malformed", times=2)

    plain = httpx.post(f"{fake_openai.base_url}/chat/completions", json=CHAT)
    streamed = httpx.post(f"{fake_openai.base_url}/chat/completions", json=STREAM)

    assert plain.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        plain.json()
    with pytest.raises(json.JSONDecodeError):
        sse_events(streamed.text)


def test_it_cuts_a_stream_midway_without_done(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue_reply("one two three four")
    fake_openai.fail_next("cut", after_chunks=2)
    received: list[str] = []

    def read_stream() -> None:
        with httpx.stream(
            "POST", f"{fake_openai.base_url}/chat/completions", json=STREAM
        ) as response:
            received.extend(response.iter_lines())

    with pytest.raises(httpx.RemoteProtocolError):
        read_stream()

    events = sse_events("\n\n".join(received) + "\n\n")
    assert (
        "".join(e["choices"][0]["delta"].get("content", "") for e in events)
        == "one two"
    )
    assert "[DONE]" not in events


def test_it_resets_connections_when_down_and_refuses_them_after_go_down(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.fail_next("down")

    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.post(f"{fake_openai.base_url}/chat/completions", json=CHAT)
    fake_openai.go_down()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{fake_openai.base_url}/models")
    fake_openai.come_up()
    assert httpx.get(f"{fake_openai.base_url}/models").status_code == 200
    assert [r.fault for r in fake_openai.requests] == ["down", None]


def test_it_answers_moderation_requests_in_openai_shape(
    fake_openai: FakeOpenAI,
) -> None:
    body = httpx.post(
        f"{fake_openai.base_url}/moderations",
        json={"input": ["I will stab you", "2 + 2 = 4"]},
    ).json()

    flagged, clean = body["results"]
    assert flagged["flagged"] is True
    assert [c for c, hit in flagged["categories"].items() if hit] == ["violence"]
    assert set(flagged["category_scores"]) == set(MODERATION_CATEGORIES)
    assert clean["flagged"] is False
    assert not any(clean["categories"].values())


def test_it_rejects_bad_requests_and_unknown_paths(fake_openai: FakeOpenAI) -> None:
    assert (
        httpx.post(
            f"{fake_openai.base_url}/chat/completions", json={"messages": []}
        ).status_code
        == 400
    )
    assert httpx.post(f"{fake_openai.base_url}/embeddings", json={}).status_code == 404
    assert httpx.get(f"{fake_openai.base_url}/chat/completions").status_code == 405
    with pytest.raises(ValueError, match="unknown fault"):
        fake_openai.fail_next("explode")


def test_it_checks_the_api_key_when_told_to() -> None:
    with FakeOpenAI(require_api_key="sk-right") as fake:
        wrong = httpx.get(
            f"{fake.base_url}/models", headers={"Authorization": "Bearer sk-wrong"}
        )
        right = httpx.get(
            f"{fake.base_url}/models", headers={"Authorization": "Bearer sk-right"}
        )

    assert (wrong.status_code, right.status_code) == (401, 200)


def test_it_serves_hundreds_of_concurrent_streams(fake_openai: FakeOpenAI) -> None:
    """Raw sockets, so the figure measures the server rather than a client's connection pool."""
    fake_openai.token_delay_s = 0.02
    fake_openai.set_reply(
        lambda body: f"reply to {body['messages'][-1]['content']} with some more words"
    )

    async def one(n: int) -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", fake_openai.port)
        body = json.dumps(
            {**STREAM, "messages": [{"role": "user", "content": f"q{n}"}]}
        ).encode()
        head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: fake\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode() + body)
        raw = await reader.read()
        writer.close()
        events = sse_events(dechunk(raw.partition(b"\r\n\r\n")[2]).decode())
        assert events[-1] == "[DONE]"
        return "".join(
            e["choices"][0]["delta"].get("content", "")
            for e in events[:-1]
            if e["choices"]
        )

    async def many() -> list[str]:
        return await asyncio.gather(*(one(n) for n in range(300)))

    started = time.perf_counter()
    replies = asyncio.run(many())

    assert replies == [f"reply to q{n} with some more words" for n in range(300)]
    # 6 chunks 20 ms apart: ~0.1 s if all 300 streams run at once, 30 s if one at a time
    assert time.perf_counter() - started < 10
    assert fake_openai.connections_opened == 300


def dechunk(body: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return out
        out, body = out + rest[:size], rest[size + 2 :]


def test_it_runs_standalone_from_the_command_line() -> None:
    root = Path(__file__).resolve().parents[2]
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.openai_server",
            "--port",
            "0",
            "--reply",
            "Hello from the CLI.",
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            base_url = line.strip().rpartition("OPENAI_BASE_URL=")[2]
            body = httpx.post(f"{base_url}/chat/completions", json=CHAT).json()
        finally:
            process.terminate()

    assert body["choices"][0]["message"]["content"] == "Hello from the CLI."


def test_it_forgets_everything_scripted_on_reset(fake_openai: FakeOpenAI) -> None:
    fake_openai.set_reply(lambda body: "scripted")
    fake_openai.queue_reply("queued")
    fake_openai.fail_next(500)
    fake_openai.latency_s = 5

    fake_openai.reset()
    body = httpx.post(f"{fake_openai.base_url}/chat/completions", json=CHAT).json()

    assert body["choices"][0]["message"]["content"].startswith("Let's work through it")
    assert fake_openai.latency_s == 0
    assert fake_openai.pending_faults == 0
    assert [r.fault for r in fake_openai.requests] == [None]
