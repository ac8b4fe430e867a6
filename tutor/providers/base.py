"""Types, errors and the backend registry of the provider layer."""

from __future__ import annotations

import importlib
import threading
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol, get_args

ErrorKind = Literal[
    "timeout",
    "rate_limited",
    "server",
    "client",
    "malformed",
    "connection",
    "interrupted",
]
RETRYABLE_KINDS: frozenset[str] = frozenset(
    {"timeout", "rate_limited", "server", "connection"}
)
MESSAGE_ROLES = frozenset({"system", "developer", "user", "assistant"})


@dataclass(frozen=True)
class ProviderConfig:
    """How to reach one pinned model; built from a model release."""

    backend: str  # "openai" | "offline" | "replay" | any registered name
    model: str  # pinned model id, e.g. "gpt-4o-mini-2024-07-18"
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    params: Mapping[str, Any] = field(
        default_factory=dict
    )  # temperature, max_tokens, top_p, seed...
    timeout_s: float = 30.0
    max_retries: int = 2

    def __post_init__(self) -> None:
        if not self.backend or not self.model:
            raise ValueError("ProviderConfig needs a backend and a model")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str

    def __post_init__(self) -> None:
        if self.role not in MESSAGE_ROLES:
            raise ValueError(f"unknown message role {self.role!r}")


@dataclass(frozen=True)
class TutorRequest:
    messages: tuple[ChatMessage, ...]  # the rendered prompt, for LLM backends
    context: Any = None  # structured tutoring context for the offline/replay backends (opaque here)
    # False when nobody watches the reply arrive (evals): backends may fetch it whole, which costs
    # the client far less CPU than parsing a chunk per token.
    incremental: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "messages", tuple(self.messages))


@dataclass
class Usage:
    """What a backend reports about one attempt; filled while it streams. None means 'not reported'."""

    tokens_in: int | None = None
    tokens_out: int | None = None
    model: str | None = None  # the model that actually answered, e.g. a dated snapshot
    finish_reason: str | None = None  # "stop", "length", "content_filter"...
    cost_usd: float | None = (
        None  # set by backends that know their cost (local ones: 0.0)
    )


@dataclass
class StreamResult:
    """Filled as a reply streams; final once iteration ends (also after a ProviderError)."""

    text: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    first_token_ms: float | None = None
    total_ms: float = 0.0
    attempts: int = 0
    model: str = ""
    cost_usd: float | None = None
    finish_reason: str | None = None


class ProviderError(Exception):
    """A classified failure to get a reply. `kind` says what went wrong, `retryable` whether trying again may help."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str = "",
        *,
        retryable: bool | None = None,
        retry_after: float | None = None,
        status_code: int | None = None,
    ) -> None:
        if kind not in get_args(ErrorKind):
            raise ValueError(f"unknown ProviderError kind {kind!r}")
        super().__init__(message or kind)
        self.kind: ErrorKind = kind
        self.retryable = kind in RETRYABLE_KINDS if retryable is None else retryable
        self.retry_after = retry_after
        self.status_code = status_code

    def __repr__(self) -> str:
        return f"ProviderError(kind={self.kind!r}, message={str(self)!r}, retryable={self.retryable}, retry_after={self.retry_after})"


class Backend(Protocol):
    """Something that turns a request into a stream of text deltas.

    Implement `stream` as an async generator. Raise ProviderError for failures (set
    `retryable` honestly: the caller retries only before the first delta). Fill `usage`
    with whatever the backend knows (token counts, answering model, cost) before returning.
    An optional `async def aclose(self)` releases pooled resources for the running loop.
    """

    def stream(
        self, config: ProviderConfig, request: TutorRequest, usage: Usage
    ) -> AsyncIterator[str]: ...


_BUILTIN_BACKENDS = {"openai": "tutor.providers.openai_backend:OpenAIBackend"}
_registry: dict[str, Backend] = {}
_registry_lock = threading.Lock()


def register_backend(name: str, backend: Backend, *, replace: bool = False) -> None:
    """Make `backend` answer configs whose backend is `name`. Registering a different object twice needs replace=True."""
    with _registry_lock:
        existing = _registry.get(name)
        if existing is not None and existing is not backend and not replace:
            raise ValueError(
                f"a backend is already registered as {name!r}; pass replace=True to swap it"
            )
        _registry[name] = backend


def unregister_backend(name: str) -> None:
    with _registry_lock:
        _registry.pop(name, None)


def get_backend(name: str) -> Backend:
    """The backend registered as `name`, loading a built-in one on first use."""
    with _registry_lock:
        backend = _registry.get(name)
        if backend is None and name in _BUILTIN_BACKENDS:
            module_name, _, class_name = _BUILTIN_BACKENDS[name].partition(":")
            backend = getattr(importlib.import_module(module_name), class_name)()
            _registry[name] = backend
    if backend is None:
        raise ProviderError(
            "client", f"no provider backend registered as {name!r}", retryable=False
        )
    return backend


def loaded_backends() -> dict[str, Backend]:
    with _registry_lock:
        return dict(_registry)
