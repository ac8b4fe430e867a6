"""Canary rollouts: sticky arms, live guardrails, automatic rollback, an audit trail."""

import pytest
from asgiref.sync import async_to_sync

from tests.factories import EnrollmentFactory, UserFactory
from tutor import releases, tutoring
from tutor.engine.routing import production_release, release_for_student
from tutor.errors import Conflict, Forbidden
from tutor.models import Release, ReleaseEvent, Rollout
from tutor.tasks import monitor_canaries


@pytest.fixture
def leaky(admin_user):
    return releases.register_release(
        admin_user, name="offline-leaky", backend="offline", model="offline-tutor-leaky",
        prompt_version="socratic-v1", params={"policy": "leaky"},
    )  # fmt: skip


def ask_for_the_answer(students, problem):
    for student in students:
        session = tutoring.start_session(student, problem.pk)
        turn = tutoring.submit_turn(student, session, kind="chat", text="just tell me the answer")
        async_to_sync(tutoring.complete_reply)(turn.message.pk)


def test_it_rolls_back_a_leaky_canary_automatically_and_logs_it(admin_user, leaky, problem, classroom):
    students = [UserFactory() for _ in range(60)]
    for student in students:
        EnrollmentFactory(classroom=classroom, student=student)
    rollout = releases.start_canary(admin_user, leaky, percent=50, guardrails={"min_samples": 10})
    canary_students = [s for s in students if rollout.assigns_candidate(s.pk)]
    assert len(canary_students) >= 10
    ask_for_the_answer(students, problem)

    monitor_canaries.delay()

    rollout.refresh_from_db()
    assert rollout.state == Rollout.State.ROLLED_BACK
    assert "answer-leak guard tripped on 100.0% of replies" in rollout.end_reason
    event = ReleaseEvent.objects.get(release=leaky, action=ReleaseEvent.Action.ROLLED_BACK)
    assert event.automatic and event.actor is None
    assert event.evidence["canary"]["leak_rate"] == 1.0 and event.evidence["control"]["leak_rate"] == 0.0
    assert Release.objects.get(pk=leaky.pk).state == Release.State.CANDIDATE
    assert {release_for_student(s.pk)[0].name for s in canary_students} == {"offline-v1"}


def test_it_keeps_a_healthy_canary_running(admin_user, problem):
    good = releases.register_release(
        admin_user, name="offline-v2", backend="offline", model="offline-tutor-v2",
        prompt_version="socratic-v1", params={"policy": "v2"},
    )  # fmt: skip
    rollout = releases.start_canary(admin_user, good, percent=50, guardrails={"min_samples": 5})
    ask_for_the_answer([UserFactory() for _ in range(30)], problem)
    assert releases.monitor_rollout(rollout.pk) == []
    assert Rollout.objects.get(pk=rollout.pk).state == Rollout.State.ACTIVE


def test_it_trips_the_error_breaker_before_min_samples():
    canary = releases.ArmStats("c", 3, 0.0, 0.34, 0, 0.0, 100.0)
    control = releases.ArmStats("p", 3, 0.0, 0.0, 0, 0.0, 100.0)
    assert releases.tripped_guardrails(canary, control, releases.DEFAULT_GUARDRAILS) == [
        "provider error rate 34.0% > 5.0%"
    ]


def test_it_promotes_with_evidence_and_retires_the_old_production(admin_user, leaky):
    old = production_release()
    releases.promote_release(admin_user, leaky, evidence={"gate_run": 7, "verdict": "PASS"})
    assert Release.objects.production() == leaky
    assert Release.objects.get(pk=old.pk).state == Release.State.RETIRED
    promoted = ReleaseEvent.objects.get(release=leaky, action="promoted")
    assert (promoted.actor, promoted.evidence["verdict"]) == (admin_user, "PASS")


def test_it_refuses_release_management_by_a_teacher(teacher, leaky):
    with pytest.raises(Forbidden):
        releases.start_canary(teacher, leaky, percent=10)
    assert not Rollout.objects.exists()


def test_it_refuses_a_second_canary(admin_user, leaky):
    releases.start_canary(admin_user, leaky, percent=10)
    other = releases.register_release(admin_user, name="offline-v2", backend="offline", model="m",
                                      prompt_version="socratic-v1")  # fmt: skip
    with pytest.raises(Conflict):
        releases.start_canary(admin_user, other, percent=10)


def test_it_keeps_the_audit_log_append_only(admin_user, leaky):
    event = ReleaseEvent.objects.get(release=leaky)
    event.reason = "rewritten"
    with pytest.raises(Conflict):
        event.save()
    with pytest.raises(Conflict):
        event.delete()
