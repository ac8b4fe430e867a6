"""Tutoring actions: start a session, take a student's turn, produce the tutor's reply.

One turn:
1. `submit_turn` validates (length, rate limit), persists the student's message first (nothing a
   student writes is lost), checks an answer deterministically, records the Attempt and updates
   mastery. Idempotent on the client's id: a retried POST returns the same message.
2. `reply_events` produces the tutor's reply as a stream of events: input moderation, release
   routing (production or canary), the provider stream through the answer-leak guard, fallback to
   the offline tutor when the provider fails, output moderation, then the reply is stored with
   its provenance. Generation runs in its own task, so a browser that disconnects does not stop
   the reply from being completed and stored, and a second request for the same message replays
   it instead of calling the model twice. The JSON turn API submits its turn already claimed and
   generates from the message it has just written (`reply_to_turn`), without reading it back.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from curriculum.checking import Verdict, check_answer
from curriculum.models import Problem
from tutor.engine import context as ctx
from tutor.engine.guard import LeakGuard
from tutor.engine.prompts import render_messages
from tutor.engine.routing import fallback_release, provider_config, release_for_student
from tutor.engine.safety import screen
from tutor.errors import Conflict, InvalidInput, NotFound, RateLimited
from tutor.mastery.tracking import apply_attempt
from tutor.models import (
    Attempt,
    Flag,
    Mastery,
    MasteryChange,
    Message,
    Rating,
    Release,
    TutoringSession,
    User,
)
from tutor.models.people import pseudonym_for
from tutor.providers import ProviderError, StreamResult, TutorRequest, stream_reply
from tutor.providers.moderation import ModerationResult, classify_offline, moderate

log = logging.getLogger(__name__)

TURN_KINDS = {"chat": Message.Kind.CHAT, "answer": Message.Kind.ANSWER, "hint": Message.Kind.HINT_REQUEST}
UNAVAILABLE = "The tutor is unavailable right now. Your message is saved: try again in a moment."
HISTORY_MESSAGES = 40


@dataclass
class TurnResult:
    message: Message
    verdict: Verdict | None = None
    attempt: Attempt | None = None
    mastery_changes: list[MasteryChange] = field(default_factory=list)
    duplicate: bool = False


# --- sessions -------------------------------------------------------------------------------


def start_session(student: User, problem_id: int) -> TutoringSession:
    """The student's open session on this problem, or a new one."""
    try:
        problem = Problem.objects.active().get(pk=problem_id)
    except Problem.DoesNotExist:
        raise NotFound("That problem does not exist.") from None
    session = TutoringSession.objects.for_student(student).open().filter(problem=problem).first()
    if session is None:
        session = TutoringSession.objects.create(student=student, problem=problem, problem_version=problem.version)
    return session


# --- the student's turn ---------------------------------------------------------------------


def _check_limits(student: User, text: str, kind: str) -> None:
    if kind not in TURN_KINDS:
        raise InvalidInput(f"Unknown turn kind {kind!r}: use chat, answer or hint.", code="bad_kind")
    if kind != "hint" and not text.strip():
        raise InvalidInput("Type something first.", code="empty")
    limit = settings.TUTOR_MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise InvalidInput(f"That message is too long: keep it under {limit} characters.", code="too_long")
    since = timezone.now() - timedelta(seconds=60)
    recent = Message.objects.filter(session__student=student, role=Message.Role.STUDENT, created_at__gte=since)
    if recent.count() >= settings.TUTOR_RATE_LIMIT_PER_MINUTE:
        raise RateLimited("You're sending messages very fast. Take a breath and try again in a minute.", retry_after=60)


@transaction.atomic
def submit_turn(
    student: User, session: TutoringSession, *, kind: str, text: str, client_id: str = "", claim: bool = False
) -> TurnResult:
    """Persist the student's turn. With `claim`, the message is created already claimed for
    generation, for a caller that produces the reply itself straight away (`reply_to_turn`)."""
    client_id = client_id.strip()[:64]
    if client_id:
        existing = Message.objects.filter(session=session, client_id=client_id).first()
        if existing is not None:
            return TurnResult(message=existing, attempt=getattr(existing, "attempt", None), duplicate=True)
    _check_limits(student, text, kind)
    if kind != "chat":
        # Hints and answers read the session to change it (hint ladder, solved, first attempt).
        session = TutoringSession.objects.select_for_update(of=("self",)).select_related("problem__skill").get(pk=session.pk)
    message = Message.objects.create(
        session=session,
        role=Message.Role.STUDENT,
        kind=TURN_KINDS[kind],
        text=text.strip() if kind != "hint" else (text.strip() or "Can I have a hint?"),
        status=Message.Status.STREAMING if claim else Message.Status.PENDING,
        client_id=client_id,
    )
    result = TurnResult(message=message)
    session.updated_at = timezone.now()
    if kind == "chat":
        TutoringSession.objects.filter(pk=session.pk).update(updated_at=session.updated_at)
        return result
    if kind == "hint" and not session.is_solved:
        session.hints_given = min(session.hints_given + 1, len(session.problem.hints))
    if kind == "answer":
        if session.is_solved:
            raise Conflict("You've already solved this problem.", code="already_solved")
        result.verdict, result.attempt, result.mastery_changes = _record_answer(session, message)
    session.save(update_fields=["hints_given", "status", "solved_at", "updated_at"])
    return result


def _record_answer(session: TutoringSession, message: Message) -> tuple[Verdict, Attempt | None, list[MasteryChange]]:
    problem = session.problem
    verdict = check_answer(problem.answer_key(), message.text)
    if verdict.parse_error:
        return verdict, None, []  # nothing to score: the student is asked to rewrite it
    first = not session.attempts.exists()
    attempt = Attempt.objects.create(
        student=session.student,
        problem=problem,
        problem_version=session.problem_version,
        session=session,
        message=message,
        answer=message.text,
        normalized=(verdict.normalized or "")[:300],
        correct=verdict.correct,
        misconception_code=verdict.misconception.code if verdict.misconception else "",
        # Knowledge tracing scores the first attempt at a problem; needing hints first counts as not knowing.
        scored=first,
        hints_used=session.hints_given,
    )
    changes = apply_attempt(attempt)
    if verdict.correct:
        session.status = TutoringSession.Status.SOLVED
        session.solved_at = timezone.now()
    return verdict, attempt, changes


# --- the tutor's reply ----------------------------------------------------------------------


async def db_step(fn, *args):
    """Run one synchronous database step from async code, then give its connection back (to the
    pool, or closed), so that hundreds of open streams do not each hold a connection."""

    def step():
        try:
            return fn(*args)
        finally:
            if not connection.in_atomic_block:
                close_old_connections()

    return await sync_to_async(step)()


@dataclass(frozen=True)
class ReplyEvent:
    kind: str  # delta | replace | reset | done | error
    data: dict
    reply: Message | None = field(default=None, compare=False)  # on done: the stored reply (never sent)


@dataclass
class _Job:
    events: list[ReplyEvent] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    finished: bool = False

    def push(self, kind: str, **data) -> None:
        self.add(ReplyEvent(kind, data))

    def add(self, event: ReplyEvent) -> None:
        self.events.append(event)
        self.changed.set()


_jobs: dict[int, _Job] = {}
_tasks: set[asyncio.Task] = set()


async def reply_events(message_id: int) -> AsyncIterator[ReplyEvent]:
    """Events of the reply to one student message; starts generating it if nobody has."""
    job = _jobs.get(message_id)
    if job is None:
        claimed = await db_step(_claim, message_id)
        if claimed == "complete":
            reply = await db_step(_stored_reply, message_id)
            yield _done(reply)
            return
        job = _jobs.get(message_id)
        if job is None and claimed == "claimed":
            job = _start_job(message_id)
        elif job is None:
            async for event in _wait_for_other_process(message_id):
                yield event
            return
    async for event in _follow(job):
        yield event


async def reply_to_turn(turn: TurnResult) -> Message | None:
    """The stored reply to a turn submitted with `claim=True`, generated here without reading the
    message back; a retried turn (same client_id) replays or resumes its reply instead."""
    message = turn.message
    if turn.duplicate or message.status != Message.Status.STREAMING:
        return await complete_reply(message.pk)
    return await _last_reply(_follow(_start_job(message.pk, message)), message.pk)


def _start_job(message_id: int, message: Message | None = None) -> _Job:
    job = _Job()
    _jobs[message_id] = job
    task = asyncio.create_task(_generate(message_id, job, message))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return job


async def _follow(job: _Job) -> AsyncIterator[ReplyEvent]:
    seen = 0
    while True:
        while seen < len(job.events):
            yield job.events[seen]
            seen += 1
        if job.finished:
            return
        job.changed.clear()
        if seen == len(job.events):
            await job.changed.wait()


async def complete_reply(message_id: int) -> Message | None:
    """Run a reply to the end (for the JSON API and tests); the stored tutor message, or None."""
    return await _last_reply(reply_events(message_id), message_id)


async def _last_reply(events: AsyncIterator[ReplyEvent], message_id: int) -> Message | None:
    last = None
    async for event in events:
        last = event
    if last is not None and last.reply is not None:
        return last.reply
    return await db_step(_stored_reply, message_id)


def _claim(message_id: int) -> str:
    """'claimed' when this process may generate, 'complete' when a reply exists, 'busy' otherwise.

    A student message and its reply become complete in one transaction, so a claimable message
    (pending, failed, or streaming in a process that died) never has a reply yet.
    """
    stale = timezone.now() - timedelta(seconds=settings.TUTOR_PROVIDER_TIMEOUT * 4)
    claimable = Q(status__in=[Message.Status.PENDING, Message.Status.FAILED]) | Q(
        status=Message.Status.STREAMING, created_at__lt=stale
    )
    if Message.objects.filter(claimable, pk=message_id, role=Message.Role.STUDENT).update(status=Message.Status.STREAMING):
        return "claimed"
    if Message.objects.filter(reply_to_id=message_id, status=Message.Status.COMPLETE).exists():
        return "complete"
    if not Message.objects.filter(pk=message_id).exists():
        raise NotFound("No such message.")
    return "busy"


async def _wait_for_other_process(message_id: int) -> AsyncIterator[ReplyEvent]:
    deadline = time.monotonic() + settings.TUTOR_PROVIDER_TIMEOUT * 4
    while time.monotonic() < deadline:
        reply = await db_step(_stored_reply, message_id)
        if reply is not None:
            yield _done(reply)
            return
        await asyncio.sleep(0.25)
    yield ReplyEvent("error", {"detail": UNAVAILABLE, "retryable": True})


def _stored_reply(message_id: int) -> Message | None:
    return (
        Message.objects.filter(reply_to_id=message_id, status=Message.Status.COMPLETE).select_related("release").first()
    )


def _done(reply: Message) -> ReplyEvent:
    return ReplyEvent("done", _reply_payload(reply), reply=reply)


def _reply_payload(reply: Message) -> dict:
    return {
        "message_id": reply.pk,
        "text": reply.text,
        "release": reply.release.name if reply.release else None,
        "backend": reply.backend,
        "offline": reply.backend == "offline",
        "replaced": bool(reply.guard.get("answer_leak") == "replaced"),
    }


@dataclass
class _Plan:
    """Everything the async part needs, loaded in one synchronous step."""

    message: Message
    context: ctx.TutorContext
    release: Release
    guard: LeakGuard
    flagged: tuple[str, ...] = ()


def _plan(message_id: int, message: Message | None = None) -> _Plan:
    """`message`, when given, is the student's message with its session, problem and skill loaded."""
    if message is None:
        message = Message.objects.select_related("session__problem__skill").get(pk=message_id)
    session = message.session
    release, _ = release_for_student(session.student_id)
    context = build_context(message)
    key = session.problem.answer_key()
    return _Plan(
        message=message,
        context=context,
        release=release,
        guard=LeakGuard(key=key, known_values=context.known_values, active=not session.is_solved),
    )


def build_context(message: Message) -> ctx.TutorContext:
    session = message.session
    problem = session.problem
    skill = problem.skill
    # The window never needs more than the last few dozen messages, however long the session.
    recent = session.messages.filter(pk__lt=message.pk).complete().order_by("-created_at", "-id")
    earlier = list(reversed(recent.values_list("role", "text")[:HISTORY_MESSAGES]))
    history = ctx.window_history([ctx.HistoryTurn(role, text) for role, text in earlier])
    student_texts = [text for role, text in earlier if role == Message.Role.STUDENT] + [message.text]
    known = ctx.known_values(problem.prompt, student_texts)
    verdict = None
    attempt = Attempt.objects.filter(message=message).first() if message.kind == Message.Kind.ANSWER else None
    if message.kind == Message.Kind.ANSWER:
        checked = check_answer(problem.answer_key(), message.text)
        verdict = ctx.VerdictInfo(
            correct=checked.correct,
            normalized=checked.normalized,
            feedback=checked.feedback,
            parse_error=checked.parse_error,
            misconception_code=checked.misconception.code if checked.misconception else None,
            misconception_feedback=checked.misconception.feedback if checked.misconception else None,
        )
    needed = list(skill.prerequisites.values_list("pk", "name", "bkt_prior"))
    masteries = {
        skill_id: (level, p_known)
        for skill_id, level, p_known in Mastery.objects.filter(
            student_id=session.student_id, skill_id__in=[skill.pk, *(pk for pk, _, _ in needed)]
        ).values_list("skill_id", "level", "p_known")
    }
    prerequisites = tuple(ctx.SkillMastery(name, *masteries.get(pk, ("not_started", prior))) for pk, name, prior in needed)
    own = masteries.get(skill.pk)
    # The ladder as it stood at this message (a replayed or retried reply must not jump ahead).
    hints_given = min(
        len(problem.hints),
        session.messages.filter(kind=Message.Kind.HINT_REQUEST, pk__lte=message.pk).count(),
    )
    return ctx.TutorContext(
        turn_kind={"answer": "answer", "hint_request": "hint_request"}.get(message.kind, "chat"),
        student_text=message.text,
        student_name=pseudonym_for(session.student_id),
        skill_name=skill.name,
        skill_code=skill.code,
        lesson_excerpt=ctx.lesson_excerpt(skill.lesson),
        problem_prompt=problem.prompt,
        solution=problem.solution,
        final_answer=problem.final_answer,
        answer_kind=problem.answer_spec.get("kind", ""),
        hints=tuple(problem.hints),
        hints_given=hints_given,
        grade=problem.grade,
        verdict=verdict,
        solved=session.is_solved and not (attempt and attempt.correct),
        mastery=ctx.SkillMastery(skill.name, *own) if own else None,
        prerequisites=prerequisites,
        history=history,
        known_values=known,
    )


async def _generate(message_id: int, job: _Job, message: Message | None = None) -> None:
    try:
        plan = await db_step(_plan, message_id, message)
        outcome = await _run_reply(plan, job)
        reply = await db_step(_store_reply, plan, outcome)
        job.add(_done(reply))
    except Exception as error:  # the student must see a clear message, whatever broke
        log.exception("tutor reply failed for message %s", message_id)
        await db_step(_mark_failed, message_id, repr(error)[:200])
        job.push("error", detail=UNAVAILABLE, retryable=True)
    finally:
        job.finished = True
        job.changed.set()
        _jobs.pop(message_id, None)


@dataclass
class _Outcome:
    text: str
    release: Release
    result: StreamResult
    guard: dict


async def _moderate(text: str, release: Release) -> ModerationResult:
    """OpenAI's moderation endpoint for OpenAI releases (offline classifier if it fails), else offline."""
    if release.backend == "openai":
        return await moderate(text, config=provider_config(release))
    return classify_offline(text)


async def _run_reply(plan: _Plan, job: _Job) -> _Outcome:
    safety_text = None
    if plan.message.kind != Message.Kind.HINT_REQUEST:
        verdict = await _moderate(plan.message.text, plan.release)
        screening = screen(plan.message.text, verdict.categories if verdict.flagged else ())
        plan.flagged, safety_text = screening.categories, screening.reply
    guard_record: dict = {"input_moderation": list(plan.flagged)}
    if safety_text is not None:
        job.push("delta", text=safety_text)
        return _Outcome(safety_text, plan.release, StreamResult(text=safety_text), guard_record)
    release = plan.release
    try:
        result, text = await _stream_guarded(release, plan, job)
    except ProviderError as error:
        log.warning("release %s failed (%s); falling back to the offline tutor", release.name, error.kind)
        guard_record["fallback"] = error.kind
        if plan.guard.emitted:
            job.push("reset")
        plan.guard = LeakGuard(key=plan.guard.key, known_values=plan.guard.known_values, active=plan.guard.active)
        release = await db_step(fallback_release)
        result, text = await _stream_guarded(release, plan, job)
    if plan.guard.leaked is not None:
        guard_record["answer_leak"] = "replaced"
        text = _leak_replacement(plan.context)
        job.push("replace", text=text)
    else:
        guard_record["answer_leak"] = "pass" if plan.guard.active else "inactive"
    output = await _moderate(text, release)
    if output.flagged:
        guard_record["output_moderation"] = list(output.categories)
        text = "Let's get back to the problem. What do you think the next step is?"
        job.push("replace", text=text)
    return _Outcome(text, release, result, guard_record)


async def _stream_guarded(release: Release, plan: _Plan, job: _Job) -> tuple[StreamResult, str]:
    config = provider_config(release)
    request = TutorRequest(messages=render_messages(plan.context, release.prompt_version), context=plan.context)
    result = StreamResult()
    stream = stream_reply(config, request, result)
    try:
        async for delta in stream:
            safe = plan.guard.feed(delta)
            if safe:
                job.push("delta", text=safe)
            if plan.guard.leaked is not None:
                break  # stop paying for a reply we will not show
    finally:
        await stream.aclose()
    tail = plan.guard.finish()
    if tail:
        job.push("delta", text=tail)
    return result, plan.guard.shown


def _leak_replacement(context: ctx.TutorContext) -> str:
    hint = context.next_hint
    step = hint["text"] if hint else "What is the first step you would take?"
    return f"Let's work it out together instead. {step}"


def _store_reply(plan: _Plan, outcome: _Outcome) -> Message:
    student_message = plan.message
    result = outcome.result
    try:
        with transaction.atomic():
            reply = Message.objects.create(
                session_id=student_message.session_id,
                role=Message.Role.TUTOR,
                kind=Message.Kind.REPLY,
                text=outcome.text,
                status=Message.Status.COMPLETE,
                reply_to=student_message,
                release=outcome.release,
                prompt_version=outcome.release.prompt_version,
                backend=outcome.release.backend,
                model=result.model or outcome.release.model,
                first_token_ms=result.first_token_ms,
                total_ms=result.total_ms,
                tokens_in=result.tokens_in,
                tokens_out=result.tokens_out,
                cost_usd=Decimal(str(result.cost_usd)) if result.cost_usd is not None else None,
                guard=outcome.guard,
            )
            Message.objects.filter(pk=student_message.pk).update(status=Message.Status.COMPLETE)
            _raise_flags(plan, reply, outcome.guard)
    except IntegrityError:  # another worker stored this reply first (one complete reply per message)
        existing = _stored_reply(student_message.pk)
        if existing is None:
            raise
        return existing
    return reply


def _raise_flags(plan: _Plan, reply: Message, guard: dict) -> None:
    session_id = plan.message.session_id
    if plan.flagged:
        distress = {"self_harm", "distress"} & set(plan.flagged)
        kind = Flag.Kind.DISTRESS if distress else Flag.Kind.MODERATION
        Flag.objects.create(
            session_id=session_id, message=plan.message, kind=kind, categories=list(plan.flagged),
            detail="Student message flagged by moderation.",
        )  # fmt: skip
    if guard.get("answer_leak") == "replaced":
        Flag.objects.create(
            session_id=session_id, message=reply, kind=Flag.Kind.ANSWER_LEAK,
            detail=f"Reply from {reply.release} stated the answer ({plan.guard.leaked}); replaced by a hint.",
        )  # fmt: skip
    if guard.get("output_moderation"):
        Flag.objects.create(
            session_id=session_id, message=reply, kind=Flag.Kind.MODERATION,
            categories=guard["output_moderation"], detail="Tutor reply flagged by moderation; replaced.",
        )  # fmt: skip


def _mark_failed(message_id: int, error: str) -> None:
    Message.objects.filter(pk=message_id, status=Message.Status.STREAMING).update(status=Message.Status.FAILED)
    log.info("marked message %s failed: %s", message_id, error)


# --- feedback -------------------------------------------------------------------------------


@transaction.atomic
def rate_message(student: User, message: Message, *, value: int, comment: str = "") -> Rating:
    if message.role != Message.Role.TUTOR:
        raise InvalidInput("Only tutor messages can be rated.")
    if value not in (1, -1):
        raise InvalidInput("A rating is 1 (helpful) or -1 (not helpful).")
    rating, _ = Rating.objects.update_or_create(
        message=message, student=student, defaults={"value": value, "comment": comment.strip()[:1000]}
    )
    already = Flag.objects.filter(message=message, kind=Flag.Kind.THUMBS_DOWN)
    if value == -1 and not already.exists():
        Flag.objects.create(
            session_id=message.session_id, message=message, kind=Flag.Kind.THUMBS_DOWN,
            detail=comment.strip()[:1000] or "Student marked this reply as not helpful.",
        )  # fmt: skip
    return rating
