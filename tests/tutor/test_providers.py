"""The provider layer against the loopback fake server, over real HTTP with the real SDK."""

from __future__ import annotations

import asyncio
import gc
import math
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import replace
from typing import TypeVar

import pytest

from tests.fakes.openai_server import FakeOpenAI, FakeReply
from tutor.providers import (
    NO_BACKOFF,
    ChatMessage,
    ProviderConfig,
    ProviderError,
    StreamResult,
    TutorRequest,
    Usage,
    aclose_clients,
    complete,
    estimate_cost,
    get_backend,
    known_models,
    loaded_backends,
    register_backend,
    stream_reply,
    unregister_backend,
)
from tutor.providers.openai_backend import OpenAIBackend
from tutor.providers.retry import RetryPolicy, parse_retry_after

T = TypeVar("T")
REQUEST = TutorRequest(
    messages=(
        ChatMessage("system", "You are a patient maths tutor."),
        ChatMessage("user", "What is a half of a half?"),
    )
)


def run(coro: Awaitable[T]) -> T:
    """Run on a fresh event loop, closing the pooled clients before it ends."""

    async def main() -> T:
        try:
            return await coro
        finally:
            await aclose_clients()

    return asyncio.run(main())


async def collect(
    config: ProviderConfig,
    result: StreamResult,
    *,
    policy: RetryPolicy | None = NO_BACKOFF,
) -> tuple[list[str], ProviderError | None]:
    deltas: list[str] = []
    try:
        async for delta in stream_reply(config, REQUEST, result, retry_policy=policy):
            deltas.append(delta)
    except ProviderError as error:
        return deltas, error
    return deltas, None


@pytest.fixture
def config(fake_openai_config: ProviderConfig) -> ProviderConfig:
    return fake_openai_config


@pytest.fixture
def impatient(fake_openai_config: ProviderConfig) -> ProviderConfig:
    """A short timeout, for the tests where the fake hangs."""
    return replace(fake_openai_config, timeout_s=0.25)


def test_it_streams_the_reply_in_order_and_records_usage(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    fake_openai.queue_reply(
        FakeReply(
            "A half of a half is a quarter.", prompt_tokens=42, completion_tokens=9
        )
    )
    result = StreamResult()

    deltas, error = run(collect(config, result))

    assert error is None
    assert deltas == ["A", " half", " of", " a", " half", " is", " a", " quarter."]
    assert result.text == "A half of a half is a quarter."
    assert (result.tokens_in, result.tokens_out, result.attempts) == (42, 9, 1)
    assert result.model == "gpt-4o-mini-2024-07-18"
    assert result.finish_reason == "stop"
    assert result.first_token_ms is not None
    assert 0 < result.first_token_ms <= result.total_ms
    [sent] = fake_openai.chat_requests
    assert sent.json["model"] == "gpt-4o-mini-2024-07-18"
    assert sent.json["stream"] is True
    assert sent.json["stream_options"] == {"include_usage": True}
    assert sent.json["temperature"] == 0.2
    assert sent.json["messages"] == [
        {"role": "system", "content": "You are a patient maths tutor."},
        {"role": "user", "content": "What is a half of a half?"},
    ]
    assert sent.headers["authorization"] == "Bearer sk-test"


def test_it_completes_a_non_streamed_request(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    fake_openai.queue_reply(
        FakeReply("One quarter.", prompt_tokens=30, completion_tokens=3)
    )

    result = run(complete(replace(config, params={"stream": False}), REQUEST))

    assert (result.text, result.tokens_in, result.tokens_out, result.attempts) == (
        "One quarter.",
        30,
        3,
        1,
    )
    [sent] = fake_openai.chat_requests
    assert "stream" not in sent.json
    assert "stream_options" not in sent.json


def test_it_sends_release_params_but_never_lets_them_override_the_request(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    params = {
        "temperature": 0,
        "seed": 7,
        "max_tokens": 300,
        "model": "gpt-5",
        "n": 3,
        "stream_options": {},
    }

    run(complete(replace(config, params=params), REQUEST))

    [sent] = fake_openai.chat_requests
    assert (sent.json["temperature"], sent.json["seed"], sent.json["max_tokens"]) == (
        0,
        7,
        300,
    )
    assert sent.json["model"] == "gpt-4o-mini-2024-07-18"
    assert "n" not in sent.json
    assert sent.json["stream_options"] == {"include_usage": True}


def test_it_retries_timeouts_a_bounded_number_of_times(
    fake_openai: FakeOpenAI, impatient: ProviderConfig
) -> None:
    fake_openai.fail_next("timeout", times=3)
    result = StreamResult()

    deltas, error = run(collect(impatient, result))

    assert error is not None
    assert (error.kind, error.retryable) == ("timeout", True)
    assert deltas == []
    assert result.attempts == 3
    assert len(fake_openai.chat_requests) == 3


def test_it_recovers_when_a_retry_after_a_timeout_succeeds(
    fake_openai: FakeOpenAI, impatient: ProviderConfig
) -> None:
    fake_openai.fail_next("timeout")
    fake_openai.queue_reply("Try drawing it.")

    result = run(complete(impatient, REQUEST, retry_policy=NO_BACKOFF))

    assert (result.text, result.attempts) == ("Try drawing it.", 2)


def test_it_waits_for_retry_after_on_a_429(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    fake_openai.fail_next(429, retry_after=0.2)
    fake_openai.queue_reply("Ready when you are.")

    result = run(complete(config, REQUEST, retry_policy=NO_BACKOFF))

    assert (result.text, result.attempts) == ("Ready when you are.", 2)
    first, second = fake_openai.chat_requests
    assert first.fault == "429"
    assert 0.2 <= second.received_at - first.received_at < 2.0


def test_it_gives_up_at_once_when_retry_after_is_too_long(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    fake_openai.fail_next(429, retry_after=30)

    with pytest.raises(ProviderError) as caught:
        run(complete(config, REQUEST))

    assert (caught.value.kind, caught.value.retry_after, caught.value.status_code) == (
        "rate_limited",
        30.0,
        429,
    )
    assert len(fake_openai.chat_requests) == 1


def test_it_stops_retrying_429s_after_max_retries(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    fake_openai.fail_next(429, times=5, retry_after=0)

    with pytest.raises(ProviderError) as caught:
        run(complete(replace(config, max_retries=1), REQUEST, retry_policy=NO_BACKOFF))

    assert caught.value.kind == "rate_limited"
    assert len(fake_openai.chat_requests) == 2


def test_it_retries_a_500_and_then_succeeds(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    fake_openai.fail_next(500)
    fake_openai.queue_reply("Halve it again.")

    result = run(complete(config, REQUEST, retry_policy=NO_BACKOFF))

    assert (result.text, result.attempts) == ("Halve it again.", 2)
    assert [r.fault for r in fake_openai.chat_requests] == ["500", None]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_it_never_retries_a_client_error(
    fake_openai: FakeOpenAI, config: ProviderConfig, status: int
) -> None:
    fake_openai.fail_next(status, times=3)

    with pytest.raises(ProviderError) as caught:
        run(complete(config, REQUEST, retry_policy=NO_BACKOFF))

    assert (caught.value.kind, caught.value.retryable, caught.value.status_code) == (
        "client",
        False,
        status,
    )
    assert len(fake_openai.chat_requests) == 1


def test_it_reports_a_malformed_stream_without_retrying(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    fake_openai.fail_next("malformed", times=3)
    result = StreamResult()

    deltas, error = run(collect(config, result))

    assert error is not None
    assert (error.kind, error.retryable) == ("malformed", False)
    assert deltas == []
    assert len(fake_openai.chat_requests) == 1


def test_it_reports_a_malformed_non_streamed_reply(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    fake_openai.fail_next("malformed")

    with pytest.raises(ProviderError) as caught:
        run(complete(replace(config, params={"stream": False}), REQUEST))

    assert caught.value.kind == "malformed"
    assert len(fake_openai.chat_requests) == 1


def test_it_raises_interrupted_after_the_partial_text_when_the_stream_is_cut(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    fake_openai.queue_reply("Think of a pizza cut into four equal slices.")
    fake_openai.fail_next("cut", after_chunks=3)
    result = StreamResult()

    deltas, error = run(collect(config, result))

    assert deltas == ["Think", " of", " a"]
    assert error is not None
    assert (error.kind, error.retryable) == ("interrupted", False)
    assert isinstance(error.__cause__, ProviderError)
    assert error.__cause__.kind == "connection"
    assert result.text == "Think of a"
    assert len(fake_openai.chat_requests) == 1


def test_it_raises_interrupted_when_the_stream_stalls_after_some_text(
    fake_openai: FakeOpenAI, impatient: ProviderConfig
) -> None:
    fake_openai.queue_reply("Count the shaded parts.")
    fake_openai.fail_next("stall", after_chunks=2)
    result = StreamResult()

    deltas, error = run(collect(impatient, result))

    assert deltas == ["Count", " the"]
    assert error is not None
    assert error.kind == "interrupted"
    assert isinstance(error.__cause__, ProviderError)
    assert error.__cause__.kind == "timeout"
    assert len(fake_openai.chat_requests) == 1


def test_it_retries_a_stream_cut_before_any_text_without_duplicating(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    fake_openai.fail_next("cut", after_chunks=0)
    fake_openai.queue_reply("First attempt, never seen.", "Second attempt.")
    result = StreamResult()

    deltas, error = run(collect(config, result))

    assert error is None
    assert "".join(deltas) == result.text == "Second attempt."
    assert result.attempts == 2


def test_it_raises_a_connection_error_after_bounded_retries_when_connections_reset(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    fake_openai.fail_next("down", times=10)

    with pytest.raises(ProviderError) as caught:
        run(complete(config, REQUEST, retry_policy=NO_BACKOFF))

    assert (caught.value.kind, caught.value.retryable) == ("connection", True)
    assert len(fake_openai.chat_requests) == 3


def test_it_raises_a_connection_error_when_the_provider_is_down(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    fake_openai.go_down()
    result = StreamResult()

    deltas, error = run(
        collect(config, result, policy=RetryPolicy(base_delay_s=0.01, max_delay_s=0.02))
    )

    assert error is not None
    assert error.kind == "connection"
    assert (deltas, result.attempts) == ([], 3)
    assert fake_openai.chat_requests == []


def test_it_reuses_one_pooled_client_and_connection_per_loop(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    backend = get_backend("openai")
    assert isinstance(backend, OpenAIBackend)

    async def twice() -> tuple[bool, bool]:
        first = await complete(config, REQUEST)
        second = await complete(config, REQUEST)
        assert first.text
        assert second.text
        same = backend.client_for(config) is backend.client_for(
            replace(config, model="gpt-4.1-mini", timeout_s=9)
        )
        other_key = backend.client_for(config) is not backend.client_for(
            replace(config, api_key="sk-other")
        )
        return same, other_key

    assert run(twice()) == (True, True)
    assert fake_openai.connections_opened == 1
    assert len({r.connection_id for r in fake_openai.chat_requests}) == 1

    async def pooled_client() -> object:
        return backend.client_for(config)

    async def another_loops_client_differs() -> bool:
        mine = backend.client_for(config)
        theirs = await asyncio.to_thread(run, pooled_client())
        return mine is not theirs and backend.client_for(config) is mine

    assert run(another_loops_client_differs())


def test_it_lets_go_of_the_clients_of_closed_event_loops(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    loop = asyncio.new_event_loop()
    loop.run_until_complete(complete(config, REQUEST))  # no aclose_clients()
    loop.close()
    gone = weakref.ref(loop)
    del loop

    run(complete(config, REQUEST))
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", ResourceWarning
        )  # its sockets were never closed
        gc.collect()

    assert gone() is None


def test_it_computes_the_cost_from_the_price_table(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    fake_openai.queue_reply(
        FakeReply("Nearly there.", prompt_tokens=1000, completion_tokens=500),
        FakeReply("Nearly there.", prompt_tokens=1000, completion_tokens=500),
    )

    priced = run(complete(config, REQUEST))
    unpriced = run(complete(replace(config, model="my-local-llm"), REQUEST))

    assert priced.cost_usd == pytest.approx((1000 * 0.15 + 500 * 0.60) / 1_000_000)
    assert unpriced.cost_usd is None


def test_it_prices_snapshots_by_their_family_unless_listed() -> None:
    assert estimate_cost("gpt-4o-mini-2024-07-18", 1_000_000, 0) == pytest.approx(0.15)
    assert estimate_cost("gpt-4o-2024-08-06", 0, 1_000_000) == pytest.approx(10.0)
    assert estimate_cost("gpt-4o-2024-05-13", 0, 1_000_000) == pytest.approx(15.0)
    assert estimate_cost("gpt-5-nano", 2_000_000, 1_000_000) == pytest.approx(0.5)
    assert estimate_cost("offline", 5000, 5000) == 0.0
    assert estimate_cost("gpt-4o-mini-extra", 1, 1) is None
    required = {
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "o4-mini",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
    }
    assert required <= set(known_models())


class ScriptedBackend:
    """A stand-in for the offline tutor: yields fixed deltas, reports nothing."""

    def __init__(
        self, deltas: list[str], fail_first: ProviderError | None = None
    ) -> None:
        self.deltas = deltas
        self.fail_first = fail_first
        self.calls = 0

    async def stream(
        self, config: ProviderConfig, request: TutorRequest, usage: Usage
    ) -> AsyncIterator[str]:
        self.calls += 1
        if self.fail_first is not None and self.calls == 1:
            raise self.fail_first
        for delta in self.deltas:
            yield delta


@pytest.fixture
def offline_backend() -> Iterator[ScriptedBackend]:
    previous = loaded_backends().get("offline")
    backend = ScriptedBackend(
        ["What ", "do you ", "notice?"],
        fail_first=ProviderError("server", "warming up"),
    )
    register_backend("offline", backend, replace=True)
    yield backend
    if previous is None:
        unregister_backend("offline")
    else:
        register_backend("offline", previous, replace=True)


def test_it_streams_from_a_registered_backend_with_the_same_retries(
    offline_backend: ScriptedBackend,
) -> None:
    config = ProviderConfig(backend="offline", model="offline-tutor")

    result = run(complete(config, REQUEST, retry_policy=NO_BACKOFF))

    assert (result.text, result.attempts, offline_backend.calls) == (
        "What do you notice?",
        2,
        2,
    )
    assert result.cost_usd == 0.0
    assert result.tokens_out == math.ceil(len("What do you notice?") / 4)


def test_it_refuses_an_unknown_backend_as_a_client_error() -> None:
    with pytest.raises(ProviderError) as caught:
        run(complete(ProviderConfig(backend="nope", model="x"), REQUEST))

    assert (caught.value.kind, caught.value.retryable) == ("client", False)


def test_it_refuses_to_register_a_second_backend_under_a_taken_name(
    offline_backend: ScriptedBackend,
) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_backend("offline", ScriptedBackend([]))
    assert loaded_backends()["offline"] is offline_backend


def test_it_fills_the_result_when_the_caller_stops_reading_early(
    fake_openai: FakeOpenAI, config: ProviderConfig
) -> None:
    fake_openai.queue_reply("One two three four five.")
    result = StreamResult()

    async def first_delta() -> str:
        async for delta in stream_reply(config, REQUEST, result):
            return delta
        return ""

    assert run(first_delta()) == "One"
    assert result.text == "One"
    assert result.total_ms > 0


def test_it_parses_retry_after_in_all_its_forms() -> None:
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert (
        parse_retry_after(
            {"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0
        )
        == 10.0
    )
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_it_backs_off_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(base_delay_s=0.2, max_delay_s=1.0, jitter=0.5)
    server = ProviderError("server")

    delays = [
        policy.delay_for(server, attempt, max_retries=10) for attempt in (1, 2, 3, 4, 5)
    ]

    for delay, ceiling in zip(delays, [0.2, 0.4, 0.8, 1.0, 1.0], strict=True):
        assert delay is not None
        assert ceiling / 2 <= delay <= ceiling
    assert policy.delay_for(server, 3, max_retries=2) is None
    assert policy.delay_for(ProviderError("client"), 1, max_retries=2) is None
    assert policy.delay_for(ProviderError("malformed"), 1, max_retries=2) is None


def test_it_keeps_the_api_key_out_of_reprs_and_freezes_params() -> None:
    config = ProviderConfig(
        backend="openai", model="gpt-4o", api_key="sk-secret", params={"temperature": 0}
    )

    assert "sk-secret" not in repr(config)
    with pytest.raises(TypeError):
        config.params["temperature"] = 1  # type: ignore[index]
