"""Model prices, to record what each reply cost.

USD per 1M tokens (input, output), from OpenAI's public list prices as of 2025-08 (standard
tier, uncached input; cached-input and batch discounts are not modelled, so figures are an
upper bound). Update the table and PRICES_AS_OF together. Local backends cost nothing.
"""

from __future__ import annotations

import re

PRICES_AS_OF = "2025-08-07"

# model id -> (USD per 1M input tokens, USD per 1M output tokens)
PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-chat-latest": (1.25, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-2024-05-13": (5.00, 15.00),
    "chatgpt-4o-latest": (5.00, 15.00),
    "gpt-4o-mini": (0.15, 0.60),
    "o4-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o1": (15.00, 60.00),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "omni-moderation-latest": (0.0, 0.0),
    # local backends
    "offline": (0.0, 0.0),
    "offline-tutor": (0.0, 0.0),
    "replay": (0.0, 0.0),
}

_SNAPSHOT_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def price_of(model: str) -> tuple[float, float] | None:
    """(input, output) USD per 1M tokens; a dated snapshot falls back to its family unless listed itself."""
    if model in PRICES_PER_MILLION:
        return PRICES_PER_MILLION[model]
    return PRICES_PER_MILLION.get(_SNAPSHOT_SUFFIX.sub("", model))


def estimate_cost(model: str, tokens_in: int, tokens_out: int) -> float | None:
    """USD for one call, or None when the model is not in the table."""
    price = price_of(model)
    if price is None:
        return None
    return (tokens_in * price[0] + tokens_out * price[1]) / 1_000_000


def known_models() -> tuple[str, ...]:
    return tuple(sorted(PRICES_PER_MILLION))
