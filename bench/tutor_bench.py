"""Tutor-turn overhead and streaming, over HTTP against one uvicorn process and the fake model.

Figures (see bench/RESULTS.md): a full turn (persist, context, moderation, guard, persist reply)
with a zero-latency fake model at concurrency 1, 16 and 64, against a minimal authenticated DRF
POST that inserts one row (rating a message); the time from the fake model's first token to the
client's first streamed byte; and 500 concurrent SSE streams on one process.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from bench.harness import Server, run_load, summary_ms

STUDENTS = 600
ROUNDS = 4


def seed(fake_base_url: str) -> dict:
    """An organisation, a problem, many students with API tokens, one session each."""
    from rest_framework.authtoken.models import Token

    from tests.factories import ClassroomFactory, ProblemFactory
    from tutor.models import Enrollment, Message, Release, TutoringSession, User

    problem = ProblemFactory()
    classroom = ClassroomFactory()
    Release.objects.create(
        name="bench-fake", backend="openai", model="gpt-4o-mini", base_url=fake_base_url,
        api_key_env="BENCH_FAKE_KEY", prompt_version="socratic-v1", state=Release.State.PRODUCTION,
    )  # fmt: skip
    students = User.objects.bulk_create(
        [User(username=f"bench-{i}", role=User.Role.STUDENT, organisation=classroom.organisation) for i in range(STUDENTS)]
    )
    Enrollment.objects.bulk_create([Enrollment(classroom=classroom, student=s) for s in students])
    tokens = Token.objects.bulk_create([Token(user=s, key=Token.generate_key()) for s in students])
    sessions = TutoringSession.objects.bulk_create(
        [TutoringSession(student=s, problem=problem, problem_version=1) for s in students]
    )
    # Tutor messages to rate, for the reference request (each rating inserts one row).
    Message.objects.bulk_create(
        [Message(session=session, role="tutor", kind="reply", text="What do you notice?", status="complete")
         for session in sessions for _ in range(4)]
    )  # fmt: skip
    rateable = {}
    for message_id, session_id in Message.objects.filter(role="tutor").values_list("id", "session_id"):
        rateable.setdefault(session_id, []).append(message_id)
    return {
        "students": [
            {"token": t.key, "session": s.pk, "messages": rateable[s.pk]} for t, s in zip(tokens, sessions, strict=True)
        ]
    }


def headers(student: dict) -> dict:
    return {"Authorization": f"Token {student['token']}"}


async def turn_overhead(server: Server, data: dict, fake, concurrency: int, n: int) -> dict:
    fake.latency_s = 0.0
    fake.token_delay_s = 0.0
    students = data["students"]

    async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=httpx.Limits(max_connections=concurrency + 8)) as client:

        def turn(i: int):
            student = students[i % concurrency]

            async def call() -> None:
                response = await client.post(
                    f"/api/sessions/{student['session']}/turns/", json={"kind": "chat", "text": "I'm stuck, help"},
                    headers=headers(student),
                )  # fmt: skip
                if response.status_code != 201:
                    raise RuntimeError(response.text[:200])

            return call

        def rate(i: int):
            # Students 200..599 are not used by the turns; each rating inserts one row.
            student = students[200 + i % 400]
            message_id = student["messages"][(i // 400) % len(student["messages"])]

            async def call() -> None:
                response = await client.post(f"/api/messages/{message_id}/rating/", json={"value": 1}, headers=headers(student))
                if response.status_code != 201:
                    raise RuntimeError(response.text[:200])

            return call

        for warm in range(min(concurrency, 8)):
            await turn(warm)()
        # Turns and references alternate in ROUNDS blocks, so both see the same machine: this VM's
        # speed drifts by tens of percent within minutes, which skewed the ratio of two long runs.
        turn_latencies: list[float] = []
        ref_latencies: list[float] = []
        turn_errors = ref_errors = 0
        turn_wall = ref_wall = 0.0
        block = -(-n // ROUNDS)
        for start in range(0, n, block):
            indexes = range(start, min(start + block, n))
            latencies, errors, wall = await run_load([turn(i) for i in indexes], concurrency)
            turn_latencies, turn_errors, turn_wall = turn_latencies + latencies, turn_errors + errors, turn_wall + wall
            latencies, errors, wall = await run_load([rate(i) for i in indexes], concurrency)
            ref_latencies, ref_errors, ref_wall = ref_latencies + latencies, ref_errors + errors, ref_wall + wall
    turn = summary_ms(turn_latencies)
    ref = summary_ms(ref_latencies)
    return {
        "concurrency": concurrency,
        "turn": {**turn, "errors": turn_errors, "per_second": round(n / turn_wall, 1)},
        "reference": {**ref, "errors": ref_errors, "per_second": round(n / ref_wall, 1)},
        "p95_ratio": round(turn["p95_ms"] / ref["p95_ms"], 2) if ref["p95_ms"] else None,
    }


async def first_byte_overhead(server: Server, data: dict, fake, samples: int = 30) -> dict:
    """Client's first streamed delta minus the moment the fake model wrote its first token (both
    time.monotonic(), one clock for every process on the machine)."""
    fake.latency_s = 0.05
    fake.token_delay_s = 0.0
    overheads = []
    student = data["students"][-1]
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        for i in range(samples):
            created = await client.post(
                f"/api/sessions/{student['session']}/messages/", json={"kind": "chat", "text": f"help {i}"},
                headers=headers(student),
            )  # fmt: skip
            stream_url = created.json()["stream_url"]
            before = len(fake.first_tokens_sent_at)
            first_byte = None
            async with client.stream("GET", stream_url, headers=headers(student)) as response:
                async for line in response.aiter_lines():
                    if first_byte is None and line.startswith("event: delta"):
                        first_byte = time.monotonic()
            sent = fake.first_tokens_sent_at
            if len(sent) <= before or first_byte is None:
                raise RuntimeError(f"no streamed reply for {stream_url}: {created.status_code} {created.text[:300]}")
            overheads.append(first_byte - sent[before])
    return {"samples": samples, **summary_ms(overheads)}


async def concurrent_streams(server: Server, data: dict, fake, streams: int = 500) -> dict:
    """`streams` SSE replies at once, each 40 tokens over ~4 s."""
    from asgiref.sync import sync_to_async

    from tutor.models import Message

    fake.latency_s = 0.0
    fake.token_delay_s = 0.1
    fake.set_reply(lambda body: " ".join(f"step{i}" for i in range(40)))

    def make_pending() -> list[tuple[int, dict]]:
        pending = []
        for student in data["students"][:streams]:
            message = Message.objects.create(
                session_id=student["session"], role="student", kind="chat", text="walk me through it", status="pending"
            )
            pending.append((message.pk, student))
        return pending

    pending = await sync_to_async(make_pending)()
    rss_before, _ = server.memory_mb()
    done = errors = 0
    tokens_seen = 0

    async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=httpx.Limits(max_connections=streams + 10)) as client:

        async def one(message_id: int, student: dict) -> None:
            nonlocal done, errors, tokens_seen
            try:
                async with client.stream("GET", f"/api/messages/{message_id}/stream/", headers=headers(student)) as response:
                    event = None
                    async for line in response.aiter_lines():
                        if line.startswith("event: "):
                            event = line[7:]
                        elif line.startswith("data: ") and event == "delta":
                            tokens_seen += 1
                        elif line.startswith("data: ") and event in ("done", "error"):
                            if event == "done" and json.loads(line[6:]).get("text"):
                                done += 1
                            else:
                                errors += 1
                            return
                errors += 1
            except httpx.HTTPError:
                errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(one(mid, student) for mid, student in pending))
        wall = time.perf_counter() - started
    rss_after, peak = server.memory_mb()
    fake.set_reply(lambda body: "What do you notice about the denominators?")
    return {
        "streams": streams,
        "completed": done,
        "errors": errors,
        "wall_s": round(wall, 2),
        "delta_events": tokens_seen,
        "rss_before_mb": round(rss_before, 1),
        "rss_after_mb": round(rss_after, 1),
        "rss_peak_mb": round(peak, 1),
    }
