"""Moderation: the offline classifier on children's maths chat, and the OpenAI endpoint via the fake."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import replace
from typing import TypeVar

import pytest

from tests.fakes.openai_server import FakeOpenAI
from tutor.providers import (
    NO_BACKOFF,
    ModerationResult,
    ProviderConfig,
    aclose_clients,
    classify_offline,
    moderate,
)

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        try:
            return await coro
        finally:
            await aclose_clients()

    return asyncio.run(main())


FLAGGED = {
    "self_harm": [
        "I want to kill myself",
        "sometimes i think about hurting myself",
        "I cut myself last night",
        "i feel suicidal",
        "I just want to die",
        "i dont want to live anymore",
        "everyone would be better off without me",
        "I wish I was never born",
        "ugh kms",
    ],
    "violence": [
        "I'm going to kill you",
        "i will stab him tomorrow",
        "im gonna hurt my brother",
        "they beat me up after school",
        "he punched me in the face",
        "he hit me again",
        "someone said they'd bring a gun to school",
        "let's shoot up the school",
    ],
    "sexual": [
        "send me a pic of yourself",
        "do you want to see my nudes",
        "that's so sexy",
        "he was naked on the video",
        "let's watch porn",
    ],
    "harassment": [
        "you're so stupid",
        "You are such an idiot",
        "u r dumb",
        "your so dumb",
        "shut up you loser",
        "nobody likes you",
        "everybody hates u",
        "kys",
        "go kill yourself",
        "I hate you",
    ],
    "personal_data": [
        "my email is sam.jones+maths@example.co.uk",
        "call me on 07700 900123",
        "my number is +44 7700 900123",
        "ring (555) 123-4567 after school",
        "it's 555-123-4567",
        "my phone number is 5551234567",
        "I live at 42 Wallaby Way",
        "we live on oak tree lane",
        "send it to 12 Oak Street please",
        "my address is the blue house",
        "my password is fluffy123",
        "password: hunter2",
    ],
}

NOT_FLAGGED = [
    # maths that sounds violent
    "Cut the cake into 8 equal slices",
    "kill the x term by adding 3x to both sides",
    "the line cuts the x-axis at 4",
    "this problem is killing me",
    "my mum will kill me if I fail",
    "can I cut myself a slice of the pizza?",
    "shoot for an answer near 100",
    "I'm dying to know the answer",
    "the ball hit the target 3 times",
    "hit them with the quadratic formula",
    "hit me up after class",
    "mistakes won't hurt you, try again",
    "beat my high score",
    "the triangle's angles add up to 180",
    # feelings about maths, not people
    "I hate fractions",
    "this question is stupid",
    "I'm so dumb at long division",
    "I hate u-substitution",
    "you are right, it's 3/4",
    "you're a great teacher",
    "everyone likes you",
    "your fat cat weighs 5 kg",
    # words that contain flagged words
    "a sextic polynomial has degree 6",
    "sexagesimal is base 60",
    "canola comes from rapeseed",
    "you can see Venus with the naked eye",
    "Essex is 100 km away",
    # numbers that are not phone numbers or addresses
    "the answer is 1000000000",
    "100 000 000 is a hundred million",
    "3.14159265358979",
    "2024-1999 = 25",
    "a phone costs 1000000 cents",
    "we walked 12 kms",
    "2 ducks cross the road",
    "5 cars drive down the lane",
    "x@y is not an email",
    "what is my number if 3x + 2 = 11?",
]


@pytest.mark.parametrize(
    ("category", "text"), [(c, t) for c, texts in FLAGGED.items() for t in texts]
)
def test_it_flags_each_category_offline(category: str, text: str) -> None:
    result = classify_offline(text)

    assert result.flagged
    assert category in result.categories
    assert result.source == "offline"


@pytest.mark.parametrize("text", NOT_FLAGGED)
def test_it_leaves_ordinary_maths_chat_alone(text: str) -> None:
    assert classify_offline(text) == ModerationResult(
        flagged=False, categories=(), source="offline"
    )


def test_it_reports_every_category_found_in_a_fixed_order() -> None:
    result = classify_offline("you're an idiot, my email is a@b.com and I'll kill you")

    assert result.categories == ("violence", "harassment", "personal_data")


def test_it_reads_curly_apostrophes_and_odd_spacing() -> None:
    assert classify_offline("you\u2019re   so\nstupid").categories == ("harassment",)


def test_it_moderates_offline_without_an_openai_config(fake_openai: FakeOpenAI) -> None:
    offline_config = ProviderConfig(backend="offline", model="offline-tutor")
    keyless_openai = ProviderConfig(backend="openai", model="gpt-4o-mini")

    assert run(moderate("I'll kill you", config=None)).source == "offline"
    assert run(moderate("I'll kill you", config=offline_config)).source == "offline"
    assert run(moderate("I'll kill you", config=keyless_openai)).source == "offline"
    assert fake_openai.requests == []


def test_it_moderates_with_openai_when_configured(
    fake_openai: FakeOpenAI, fake_openai_config: ProviderConfig
) -> None:
    fake_openai.set_moderation(
        lambda text: {"violence", "harassment/threatening"} if "kill" in text else set()
    )

    flagged = run(
        moderate("I'll kill you, my email is a@b.com", config=fake_openai_config)
    )
    clean = run(moderate("Is it 3/4?", config=fake_openai_config))

    assert flagged == ModerationResult(
        flagged=True,
        categories=("violence", "harassment", "personal_data"),
        source="openai",
    )
    assert clean == ModerationResult(flagged=False, categories=(), source="openai")
    sent = fake_openai.requests_to("/v1/moderations")
    assert [r.json for r in sent] == [
        {
            "input": "I'll kill you, my email is a@b.com",
            "model": "omni-moderation-latest",
        },
        {"input": "Is it 3/4?", "model": "omni-moderation-latest"},
    ]


def test_it_falls_back_to_offline_when_openai_moderation_fails(
    fake_openai: FakeOpenAI, fake_openai_config: ProviderConfig
) -> None:
    fake_openai.fail_next(500, times=10)

    result = run(
        moderate("you are so dumb", config=fake_openai_config, retry_policy=NO_BACKOFF)
    )

    assert result == ModerationResult(
        flagged=True, categories=("harassment",), source="offline"
    )
    assert len(fake_openai.requests_to("/v1/moderations")) == 3


def test_it_does_not_retry_a_rejected_moderation_call(
    fake_openai: FakeOpenAI, fake_openai_config: ProviderConfig
) -> None:
    fake_openai.fail_next(401, times=3)

    result = run(
        moderate(
            "hello",
            config=replace(fake_openai_config, max_retries=5),
            retry_policy=NO_BACKOFF,
        )
    )

    assert result.source == "offline"
    assert len(fake_openai.requests_to("/v1/moderations")) == 1
