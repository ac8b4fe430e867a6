"""The read side of the teacher dashboards (heatmap, summary, who needs help, flag queue, drill-down,
exports) and resolving a flag: exact results, scoped to one class, a fixed number of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    ProblemFactory,
    SkillFactory,
    UnitFactory,
    UserFactory,
)
from tutor import dashboards
from tutor.errors import Conflict, InvalidInput, NotFound
from tutor.flags import resolve_flag
from tutor.models import (
    Attempt,
    Flag,
    Level,
    Mastery,
    MasteryChange,
    Message,
    Release,
    TutoringSession,
    User,
)

NOW = timezone.now()


# --- builders shared with the API, page and browser tests -------------------------------------


def make_course(classroom, *, units: int = 2, per_unit: int = 3, code: str = "maths"):
    """A course of ``units`` x ``per_unit`` skills, one problem each, given to the class."""
    course = CourseFactory(code=code, title="Middle-school maths")
    skills = []
    for u in range(1, units + 1):
        unit = UnitFactory(
            course=course, code=f"{code}-u{u}", title=f"Unit {u}", position=u
        )
        for k in range(1, per_unit + 1):
            skill = SkillFactory(
                unit=unit,
                course=course,
                code=f"{code}-s{u}-{k}",
                name=f"Skill {u}.{k}",
                position=k,
            )
            ProblemFactory(skill=skill, course=course, code=f"{code}-p{u}-{k}")
            skills.append(skill)
    if classroom is not None:
        classroom.course = course
        classroom.save()
    return skills


def offline_release():
    release, _ = Release.objects.get_or_create(
        name="offline-v1",
        defaults={
            "backend": "offline",
            "model": "offline-tutor-v1",
            "prompt_version": "socratic-v1",
        },
    )
    return release


LEVELS = [
    Level.ATTEMPTED,
    Level.FAMILIAR,
    Level.PROFICIENT,
    Level.MASTERED,
    Level.NOT_STARTED,
]
P_KNOWN = {
    Level.NOT_STARTED: 0.2, Level.ATTEMPTED: 0.3, Level.FAMILIAR: 0.65, Level.PROFICIENT: 0.85, Level.MASTERED: 0.97,
}  # fmt: skip


def populate(
    classroom, n_students: int, skills, *, now=NOW, prefix: str = "kid"
) -> list[User]:
    """``n_students`` new students of the class, each with: a mastery row per skill (levels cycling,
    some reviews overdue), three wrong answers on one problem (stuck), six hint requests, a tutor
    reply with provenance and one flag (kinds cycling). Bulk inserts: fast at 50 students."""
    release = offline_release()
    problem = skills[0].problems.first()
    students = []
    for i in range(n_students):
        student = UserFactory(
            username=f"{prefix}{i:02d}",
            first_name=f"Kid{i:02d}",
            last_name="Test",
            organisation=classroom.organisation,
        )
        EnrollmentFactory(classroom=classroom, student=student)
        students.append(student)
    masteries = []
    for i, student in enumerate(students):
        for k, skill in enumerate(skills):
            level = LEVELS[(i + k) % len(LEVELS)]
            masteries.append(
                Mastery(
                    student=student, skill=skill, level=level, p_known=P_KNOWN[level], n_scored=6, n_correct=3,
                    last_practiced_at=now - timedelta(days=2),
                    next_review_at=(now - timedelta(days=1)) if level == Level.MASTERED and i % 2 else None,
                )
            )  # fmt: skip
    Mastery.objects.bulk_create(masteries)
    sessions = TutoringSession.objects.bulk_create(
        [
            TutoringSession(
                student=s,
                problem=problem,
                problem_version=1,
                started_at=now - timedelta(hours=3),
            )
            for s in students
        ]
    )
    Attempt.objects.bulk_create(
        [
            Attempt(student=s.student, problem=problem, problem_version=1, session=s, answer="2/6", correct=False,
                    misconception_code="add-across", scored=j == 0, created_at=now - timedelta(hours=2, minutes=j))
            for s in sessions for j in range(3)
        ]
    )  # fmt: skip
    Message.objects.bulk_create(
        [
            Message(session=s, role=Message.Role.STUDENT, kind=Message.Kind.HINT_REQUEST, text="Can I have a hint?",
                    created_at=now - timedelta(hours=1, minutes=j))
            for s in sessions for j in range(6)
        ]
    )  # fmt: skip
    replies = Message.objects.bulk_create(
        [
            Message(session=s, role=Message.Role.TUTOR, kind=Message.Kind.REPLY, text="What is the first step?",
                    release=release, prompt_version="socratic-v1", backend="offline", model="offline-tutor-v1",
                    guard={"answer_leak": "pass"}, created_at=now - timedelta(minutes=30))
            for s in sessions
        ]
    )  # fmt: skip
    kinds = list(Flag.Kind.values)
    Flag.objects.bulk_create(
        [
            Flag(session=s, message=m, kind=kinds[i % len(kinds)], detail="Look at this.", created_at=now - timedelta(minutes=20))
            for i, (s, m) in enumerate(zip(sessions, replies, strict=True))
        ]
    )  # fmt: skip
    return students


@pytest.fixture
def skills(classroom):
    return make_course(classroom)


def view_of(classroom, **kwargs):
    return dashboards.load_class(classroom, now=NOW, **kwargs)


def set_mastery(student, skill, level, p_known, **fields):
    return Mastery.objects.create(
        student=student, skill=skill, level=level, p_known=p_known, **fields
    )


def enrol(classroom, username, first_name, last_name=""):
    student = UserFactory(
        username=username,
        first_name=first_name,
        last_name=last_name,
        organisation=classroom.organisation,
    )
    EnrollmentFactory(classroom=classroom, student=student)
    return student


# --- heatmap -----------------------------------------------------------------------------------


def test_it_builds_a_heatmap_of_every_student_and_skill_in_roster_order(
    classroom, student, skills
):
    User.objects.filter(pk=student.pk).update(last_name="Brown")
    zoe = enrol(classroom, "zoe", "Zoe", "Adams")
    set_mastery(
        student,
        skills[0],
        Level.MASTERED,
        0.97,
        n_scored=4,
        next_review_at=NOW - timedelta(hours=1),
    )
    set_mastery(student, skills[1], Level.FAMILIAR, 0.7, n_scored=3)
    set_mastery(zoe, skills[0], Level.ATTEMPTED, 0.31, n_scored=1)
    view = view_of(classroom)
    grid = dashboards.heatmap(view, dashboards.class_summary(view))

    assert [row.student for row in grid.rows] == [zoe, student]  # by last name
    assert [c.cue for c in grid.rows[1].cells] == ["M!", "F", "–", "–", "–", "–"]
    assert [c.cue for c in grid.rows[0].cells] == ["A", "–", "–", "–", "–", "–"]
    assert (
        grid.rows[1].cells[0].description
        == "Mastered, 97% after 4 scored attempts, review overdue"
    )
    assert grid.rows[0].cells[0].description == "Attempted, 31% after 1 scored attempt"
    assert grid.rows[0].cells[1].description == "Not started"
    assert [view.abbreviations[s.pk] for s in grid.skills] == [
        "1.1",
        "1.2",
        "1.3",
        "2.1",
        "2.2",
        "2.3",
    ]


def test_it_sorts_students_by_mastery_or_by_one_skill_weakest_first_and_reverses(
    classroom, skills
):
    ann, ben, cat = (
        enrol(classroom, u, u.title(), u.title()) for u in ("ann", "ben", "cat")
    )
    set_mastery(ann, skills[0], Level.MASTERED, 0.97)
    set_mastery(ann, skills[1], Level.MASTERED, 0.96)
    set_mastery(ben, skills[0], Level.ATTEMPTED, 0.3)
    set_mastery(ben, skills[1], Level.PROFICIENT, 0.9)
    set_mastery(cat, skills[1], Level.FAMILIAR, 0.65)
    view = view_of(classroom)
    summary = dashboards.class_summary(view)

    def order(**kwargs):
        grid = dashboards.heatmap(view, summary, **kwargs)
        return [r.student.username for r in grid.rows], grid.sort

    assert order() == (["ann", "ben", "cat"], "name")
    assert order(descending=True) == (["cat", "ben", "ann"], "name")
    assert order(sort="mastery") == (["cat", "ben", "ann"], "mastery")
    assert order(sort="skill", skill=skills[0].code) == (["cat", "ben", "ann"], "skill")
    assert order(sort="skill", skill=skills[1].code) == (["cat", "ben", "ann"], "skill")
    assert order(sort="skill", skill=skills[1].code, descending=True) == (
        ["ann", "ben", "cat"],
        "skill",
    )
    assert order(sort="skill", skill="no-such-skill") == (["ann", "ben", "cat"], "name")
    assert order(sort="bogus") == (["ann", "ben", "cat"], "name")


def test_it_puts_the_least_mastered_skills_first_when_asked(classroom, skills):
    ann, ben = enrol(classroom, "ann", "Ann", "A"), enrol(classroom, "ben", "Ben", "B")
    for skill in skills[:4]:
        set_mastery(ann, skill, Level.MASTERED, 0.97)
    for skill in skills[:2]:
        set_mastery(ben, skill, Level.MASTERED, 0.97)
    set_mastery(ben, skills[4], Level.FAMILIAR, 0.7)
    view = view_of(classroom)
    grid = dashboards.heatmap(
        view, dashboards.class_summary(view), columns="least-mastered"
    )

    # share mastered, then average P(known), ascending; ties keep course order
    assert [view.abbreviations[s.pk] for s in grid.skills] == [
        "2.3",
        "2.2",
        "1.3",
        "2.1",
        "1.1",
        "1.2",
    ]
    assert [c.cue for c in grid.rows[0].cells] == ["–", "–", "M", "M", "M", "M"]
    assert grid.columns == "least-mastered"


def test_it_shows_one_unit_keeping_the_course_wide_skill_numbers(
    classroom, student, skills
):
    view = view_of(classroom, unit="maths-u2")

    assert view.unit.title == "Unit 2"
    assert [s.name for s in view.skills] == ["Skill 2.1", "Skill 2.2", "Skill 2.3"]
    assert [view.abbreviations[s.pk] for s in view.skills] == ["2.1", "2.2", "2.3"]
    assert [u.code for u in view.units] == ["maths-u1", "maths-u2"]


def test_it_refuses_a_unit_of_another_course(classroom, skills):
    other = make_course(None, code="other")
    with pytest.raises(NotFound):
        view_of(classroom, unit=other[0].unit.code)


def test_it_leaves_out_retired_skills_and_shows_nothing_for_a_class_without_a_course(
    classroom, other_classroom, skills
):
    skills[2].retired_at = NOW
    skills[2].save()

    assert [s.name for s in view_of(classroom).skills] == [
        "Skill 1.1",
        "Skill 1.2",
        "Skill 2.1",
        "Skill 2.2",
        "Skill 2.3",
    ]
    empty = view_of(other_classroom)
    assert (empty.skills, empty.units) == ([], [])
    assert dashboards.heatmap(empty, dashboards.class_summary(empty)).skills == []


# --- summary -------------------------------------------------------------------------------------


def test_it_summarises_each_skill_share_mastered_average_and_reviews_overdue(
    classroom, skills
):
    ann, ben, cat, dan = (
        enrol(classroom, u, u.title(), u.title()) for u in ("ann", "ben", "cat", "dan")
    )
    set_mastery(
        ann, skills[0], Level.MASTERED, 0.97, next_review_at=NOW - timedelta(hours=1)
    )
    set_mastery(
        ben, skills[0], Level.MASTERED, 0.99, next_review_at=NOW + timedelta(days=2)
    )
    set_mastery(cat, skills[0], Level.FAMILIAR, 0.62)
    set_mastery(dan, skills[1], Level.ATTEMPTED, 0.3)
    summary = dashboards.class_summary(view_of(classroom))

    first, second, third = (summary.skills[s.pk] for s in skills[:3])
    assert (first.n_students, first.n_started, first.n_mastered, first.n_overdue) == (
        4,
        3,
        2,
        1,
    )
    assert (first.percent_mastered, round(first.mean_p_known, 4)) == (
        50,
        round((0.97 + 0.99 + 0.62) / 3, 4),
    )
    assert (second.n_started, second.n_mastered, second.mean_p_known) == (1, 0, 0.3)
    assert (
        third.n_started,
        third.n_mastered,
        third.mean_p_known,
        third.share_mastered,
    ) == (0, 0, None, 0.0)
    assert (summary.n_students, summary.n_skills, summary.n_cells) == (4, 6, 24)
    assert (summary.n_mastered, summary.n_overdue, summary.percent_mastered) == (
        2,
        1,
        8,
    )
    assert (summary.n_open_flags, summary.n_active_recently) == (0, 0)


# --- needs help ----------------------------------------------------------------------------------


def test_it_lists_who_needs_help_most_urgent_first_with_the_reasons(classroom, skills):
    ann, ben, cat, dan, eve = (
        enrol(classroom, u, u.title(), u.title())
        for u in ("ann", "ben", "cat", "dan", "eve")
    )
    problem = skills[0].problems.get()
    # ann: low mastery after many attempts (and a skill just under the attempt threshold, ignored)
    set_mastery(
        ann,
        skills[0],
        Level.ATTEMPTED,
        0.31,
        n_scored=7,
        last_practiced_at=NOW - timedelta(days=1),
    )
    set_mastery(ann, skills[1], Level.ATTEMPTED, 0.2, n_scored=4)
    # ben: stuck, three wrong answers and none right; cat: three wrong then right (not stuck)
    ben_session = TutoringSession.objects.create(
        student=ben, problem=problem, problem_version=1
    )
    cat_session = TutoringSession.objects.create(
        student=cat, problem=problem, problem_version=1
    )
    for i in range(3):
        Attempt.objects.create(
            student=ben,
            problem=problem,
            problem_version=1,
            session=ben_session,
            answer="2/6",
            correct=False,
            created_at=NOW - timedelta(minutes=10 - i),
        )
        Attempt.objects.create(
            student=cat,
            problem=problem,
            problem_version=1,
            session=cat_session,
            answer="2/6",
            correct=False,
            created_at=NOW - timedelta(minutes=10 - i),
        )
    Attempt.objects.create(
        student=cat,
        problem=problem,
        problem_version=1,
        session=cat_session,
        answer="3/4",
        correct=True,
        created_at=NOW - timedelta(minutes=1),
    )
    # dan: five hint requests this week on one problem; eve: four (under the threshold)
    for who, n in ((dan, 5), (eve, 4)):
        session = TutoringSession.objects.create(
            student=who, problem=problem, problem_version=1
        )
        for i in range(n):
            Message.objects.create(
                session=session,
                role="student",
                kind=Message.Kind.HINT_REQUEST,
                text="hint",
                created_at=NOW - timedelta(days=1, minutes=i),
            )
    # eve: a distress flag, resolved, from three days ago; an old resolved one does not count
    eve_session = TutoringSession.objects.create(
        student=eve, problem=problem, problem_version=1
    )
    Flag.objects.create(
        session=eve_session,
        kind=Flag.Kind.DISTRESS,
        created_at=NOW - timedelta(days=3),
        resolved_at=NOW - timedelta(days=2),
    )
    Flag.objects.create(
        session=eve_session,
        kind=Flag.Kind.DISTRESS,
        created_at=NOW - timedelta(days=30),
        resolved_at=NOW - timedelta(days=29),
    )

    listed = dashboards.needs_help(view_of(classroom))

    at = timezone.localtime(NOW - timedelta(days=3))
    assert [
        (h.student.username, [(r.kind, r.text, r.session_id) for r in h.reasons])
        for h in listed
    ] == [
        (
            "eve",
            [
                (
                    "distress",
                    f"Distress flagged on {at:%b} {at.day} (resolved)",
                    eve_session.pk,
                )
            ],
        ),
        (
            "ben",
            [
                (
                    "stuck",
                    f"Stuck on {problem.code}: 3 wrong answers, not solved yet",
                    ben_session.pk,
                )
            ],
        ),
        ("dan", [("hints", "Asked for 5 hints on 1 problem in the last 7 days", None)]),
        ("ann", [("low_mastery", "Skill 1.1: 31% after 7 scored attempts", None)]),
    ]
    assert [r.label for h in listed for r in h.reasons] == [
        "Distress",
        "Stuck",
        "Many hints",
        "Low mastery",
    ]


def test_it_shows_several_reasons_for_one_student_and_an_open_distress_flag_however_old(
    classroom, student, skills
):
    problem = skills[0].problems.get()
    session = TutoringSession.objects.create(
        student=student, problem=problem, problem_version=1
    )
    Flag.objects.create(
        session=session, kind=Flag.Kind.DISTRESS, created_at=NOW - timedelta(days=40)
    )
    set_mastery(student, skills[3], Level.ATTEMPTED, 0.12, n_scored=9)
    set_mastery(student, skills[4], Level.ATTEMPTED, 0.4, n_scored=5)
    set_mastery(student, skills[5], Level.FAMILIAR, 0.59, n_scored=12)
    set_mastery(student, skills[1], Level.ATTEMPTED, 0.35, n_scored=6)

    (item,) = dashboards.needs_help(view_of(classroom))

    assert [r.kind for r in item.reasons] == ["distress", "low_mastery"]
    assert item.reasons[0].text.endswith("(still open)")
    assert item.reasons[1].text == (
        "Skill 2.1: 12% after 9 scored attempts; Skill 1.2: 35% after 6 scored attempts; and 2 more skills"
    )


# --- scope: only this class, only its course ------------------------------------------------------


def test_it_shows_only_this_classes_current_students_and_their_work_on_its_course(
    classroom, student, other_classroom, other_student, skills
):
    User.objects.filter(pk=student.pk).update(last_name="Zed")
    other_skills = make_course(other_classroom, code="other")
    populate(other_classroom, 2, other_skills, prefix="them")
    left = enrol(classroom, "left", "Left", "Early")
    populate(classroom, 1, skills, prefix="ours")
    for who in (
        left,
        student,
    ):  # work on another course by our own student is not ours to see
        session = TutoringSession.objects.create(
            student=who, problem=other_skills[0].problems.get(), problem_version=1
        )
        Flag.objects.create(session=session, kind=Flag.Kind.DISTRESS)
        Attempt.objects.create(
            student=who,
            problem=session.problem,
            problem_version=1,
            answer="1",
            correct=False,
        )
    classroom.enrollments.filter(student=left).update(removed_at=NOW)
    view = view_of(classroom)

    assert [s.username for s in view.students] == [
        "ours00",
        "alice",
    ]  # Kid00 Test, Alice Zed
    assert {a.student.username for a in dashboards.class_attempts(classroom)} == {
        "ours00"
    }
    assert {f.session.student.username for f in dashboards.class_flags(classroom)} == {
        "ours00"
    }
    assert {s.student.username for s in dashboards.class_sessions(classroom)} == {
        "ours00"
    }
    assert {h.student.username for h in dashboards.needs_help(view)} == {"ours00"}
    assert {row[1] for row in list(dashboards.mastery_rows(view))[1:]} == {
        student.username,
        "ours00",
    }
    assert {row[2] for row in list(dashboards.attempt_rows(view))[1:]} == {"ours00"}


# --- the flag queue and resolving a flag -------------------------------------------------------


@pytest.fixture
def session(student, skills):
    return TutoringSession.objects.create(
        student=student, problem=skills[0].problems.get(), problem_version=1
    )


def flag_on(session, kind, minutes_ago, **fields):
    return Flag.objects.create(
        session=session,
        kind=kind,
        created_at=NOW - timedelta(minutes=minutes_ago),
        **fields,
    )


def test_it_queues_flags_distress_first_then_moderation_leaks_and_thumbs_down_newest_first(
    classroom, session
):
    thumbs = flag_on(session, Flag.Kind.THUMBS_DOWN, 1)
    leak = flag_on(session, Flag.Kind.ANSWER_LEAK, 2)
    old_moderation = flag_on(session, Flag.Kind.MODERATION, 50)
    new_moderation = flag_on(session, Flag.Kind.MODERATION, 5)
    distress = flag_on(session, Flag.Kind.DISTRESS, 90)

    assert list(dashboards.class_flags(classroom)) == [
        distress,
        new_moderation,
        old_moderation,
        leak,
        thumbs,
    ]


def test_it_resolves_a_flag_with_a_note_recording_who_and_when(teacher, session):
    flag = flag_on(session, Flag.Kind.MODERATION, 5)
    before = timezone.now()

    returned = resolve_flag(
        teacher, flag, "  Talked to Alice after class; she was joking.  "
    )

    flag.refresh_from_db()
    assert (flag.resolved_by, flag.resolution_note) == (
        teacher,
        "Talked to Alice after class; she was joking.",
    )
    assert before <= flag.resolved_at <= timezone.now()
    assert returned.resolved_at == flag.resolved_at


def test_it_lets_an_admin_of_the_organisation_resolve_a_flag(admin_user, session):
    flag = flag_on(session, Flag.Kind.THUMBS_DOWN, 5)
    resolve_flag(admin_user, flag, "Checked the reply: fine.")
    flag.refresh_from_db()
    assert flag.resolved_by == admin_user


@pytest.mark.parametrize("note", ["", "   ", "x" * 2001])
def test_it_refuses_to_resolve_without_a_sensible_note(teacher, session, note):
    flag = flag_on(session, Flag.Kind.MODERATION, 5)
    with pytest.raises(InvalidInput):
        resolve_flag(teacher, flag, note)
    flag.refresh_from_db()
    assert (flag.resolved_at, flag.resolved_by, flag.resolution_note) == (
        None,
        None,
        "",
    )


def test_it_refuses_to_resolve_a_flag_twice_and_keeps_the_first_note(
    teacher, admin_user, session
):
    flag = flag_on(session, Flag.Kind.MODERATION, 5)
    resolve_flag(teacher, Flag.objects.get(pk=flag.pk), "First look.")
    with pytest.raises(Conflict):
        resolve_flag(admin_user, Flag.objects.get(pk=flag.pk), "Second look.")
    flag.refresh_from_db()
    assert (flag.resolved_by, flag.resolution_note) == (teacher, "First look.")


def test_it_refuses_to_let_another_teacher_or_a_student_resolve_a_flag(
    other_teacher, student, session
):
    flag = flag_on(session, Flag.Kind.DISTRESS, 5)
    for who in (other_teacher, student):
        with pytest.raises(NotFound):
            resolve_flag(who, flag, "Not my class.")
    flag.refresh_from_db()
    assert (flag.resolved_at, flag.resolved_by, flag.resolution_note) == (
        None,
        None,
        "",
    )


# --- one student -----------------------------------------------------------------------------


def test_it_gives_a_students_mastery_history_recent_attempts_and_conversations(
    classroom, student, session, skills
):
    from tutor.mastery.tracking import apply_attempt

    problem = session.problem
    for i, (answer, correct) in enumerate(
        [("2/6", False), ("3/4", True), ("0.75", True)]
    ):
        attempt = Attempt.objects.create(
            student=student, problem=problem, problem_version=1, session=session, answer=answer, correct=correct,
            misconception_code="" if correct else "add-across", scored=True, created_at=NOW - timedelta(hours=3 - i),
        )  # fmt: skip
        apply_attempt(attempt)
    Message.objects.create(session=session, role="student", kind="chat", text="help")
    flag_on(session, Flag.Kind.THUMBS_DOWN, 1)
    flag_on(session, Flag.Kind.MODERATION, 2, resolved_at=NOW)

    detail = dashboards.student_detail(view_of(classroom), student)

    first = detail.skills[0]
    changes = MasteryChange.objects.filter(mastery__student=student).order_by(
        "created_at"
    )
    assert first.points == [changes[0].p_before, *(c.p_after for c in changes)]
    assert (first.abbreviation, first.n_changes, len(detail.skills)) == ("1.1", 3, 6)
    assert [s.points for s in detail.skills[1:]] == [[], [], [], [], []]
    assert [(a.answer, a.correct, a.misconception_code) for a in detail.attempts] == [
        ("0.75", True, ""), ("3/4", True, ""), ("2/6", False, "add-across"),
    ]  # fmt: skip
    assert detail.n_attempts == 3
    (conversation,) = detail.sessions
    assert (
        conversation,
        conversation.n_messages,
        conversation.n_flags,
        conversation.n_open_flags,
    ) == (session, 1, 2, 1)
    assert dashboards.misconception_feedback(problem, "add-across").startswith(
        "You added the tops and the bottoms"
    )
    assert dashboards.misconception_feedback(problem, "unknown") == ""


def test_it_gives_a_transcript_in_order_with_provenance_in_three_queries(session):
    release = offline_release()
    asked = Message.objects.create(
        session=session, role="student", kind="answer", text="2/6", created_at=NOW
    )
    Attempt.objects.create(
        student=session.student,
        problem=session.problem,
        problem_version=1,
        session=session,
        message=asked,
        answer="2/6",
        correct=False,
        misconception_code="add-across",
    )
    reply = Message.objects.create(
        session=session,
        role="tutor",
        kind="reply",
        text="Look at the denominators.",
        release=release,
        prompt_version="socratic-v1",
        created_at=NOW + timedelta(seconds=2),
    )
    flag_on(session, Flag.Kind.THUMBS_DOWN, 0, message=reply)

    with CaptureQueriesContext(connection) as queries:
        messages = dashboards.transcript(session)
        shown = [
            (
                m.text,
                m.release.name if m.release else None,
                m.prompt_version,
                [f.kind for f in m.flags.all()],
            )
            for m in messages
        ]
        verdict = messages[0].attempt.misconception_code

    assert shown == [
        ("2/6", None, "", []),
        ("Look at the denominators.", "offline-v1", "socratic-v1", ["thumbs_down"]),
    ]
    assert verdict == "add-across"
    assert len(queries) == 3


# --- CSV rows --------------------------------------------------------------------------------


def test_it_exports_a_mastery_row_for_every_student_and_skill(
    classroom, student, skills
):
    User.objects.filter(pk=student.pk).update(last_name="Zed")
    student.refresh_from_db()
    set_mastery(
        student,
        skills[0],
        Level.MASTERED,
        0.9712,
        n_scored=5,
        n_correct=5,
        next_review_at=NOW - timedelta(days=1),
        mastered_at=NOW - timedelta(days=3),
        last_practiced_at=NOW - timedelta(days=2),
    )

    rows = list(dashboards.mastery_rows(view_of(classroom)))

    assert rows[0] == dashboards.MASTERY_HEADER
    assert rows[1] == [
        student.pk, "alice", "Alice Zed", "Unit 1", "maths-s1-1", "Skill 1.1", "mastered", "0.9712", 5, 5,
        (NOW - timedelta(days=3)).isoformat(), (NOW - timedelta(days=2)).isoformat(), (NOW - timedelta(days=1)).isoformat(),
        "yes",
    ]  # fmt: skip
    assert rows[2] == [student.pk, "alice", "Alice Zed", "Unit 1", "maths-s1-2", "Skill 1.2", "not_started", "", 0, 0,
                       "", "", "", "no"]  # fmt: skip
    assert len(rows) == 1 + 6


def test_it_exports_every_attempt_of_the_class_oldest_first(
    classroom, student, session
):
    User.objects.filter(pk=student.pk).update(last_name="Zed")
    first = Attempt.objects.create(
        student=student,
        problem=session.problem,
        problem_version=1,
        session=session,
        answer="=1+1",
        normalized="2",
        correct=False,
        created_at=NOW - timedelta(hours=1),
    )
    second = Attempt.objects.create(
        student=student,
        problem=session.problem,
        problem_version=1,
        answer="3/4",
        normalized="3/4",
        correct=True,
        hints_used=2,
        created_at=NOW,
    )

    rows = list(dashboards.attempt_rows(view_of(classroom)))

    assert rows == [
        dashboards.ATTEMPT_HEADER,
        [first.pk, student.pk, "alice", "Alice Zed", first.created_at.isoformat(), "Unit 1", "maths-s1-1", "maths-p1-1",
         1, "=1+1", "2", "no", "no", 0, "", session.pk],
        [second.pk, student.pk, "alice", "Alice Zed", second.created_at.isoformat(), "Unit 1", "maths-s1-1", "maths-p1-1",
         1, "3/4", "3/4", "yes", "no", 2, "", ""],
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2/3", "'-2/3"),
        ("-3", "-3"),
        ("-0.75", "-0.75"),
        ("3/4", "3/4"),
        ("", ""),
        (42, 42),
    ],
)
def test_it_defuses_spreadsheet_formulas_but_keeps_negative_numbers(value, safe):
    assert dashboards.csv_safe(value) == safe


# --- a fixed number of queries whatever the class size ----------------------------------------


def dashboard_queries(classroom) -> tuple[int, dict]:
    """Every read of the dashboard, the drill-down and the exports, counted."""
    with CaptureQueriesContext(connection) as queries:
        view = dashboards.load_class(classroom, now=NOW)
        summary = dashboards.class_summary(view)
        grid = dashboards.heatmap(view, summary, sort="mastery")
        helped = dashboards.needs_help(view)
        queue = list(
            dashboards.class_flags(classroom).filter(resolved_at__isnull=True)[:5]
        )
        mastery = list(dashboards.mastery_rows(view))
        attempts = list(dashboards.attempt_rows(view))
        detail = dashboards.student_detail(view, view.students[-1])
    seen = {
        "rows": len(grid.rows), "help": len(helped), "queue": len(queue), "mastery": len(mastery) - 1,
        "attempts": len(attempts) - 1, "detail": (len(detail.attempts), len(detail.sessions)),
    }  # fmt: skip
    return len(queries), seen


def test_it_runs_the_same_number_of_queries_for_5_and_for_50_students(
    classroom, other_classroom, teacher, skills
):
    populate(classroom, 5, skills, prefix="small")
    other_classroom.teacher = teacher
    other_classroom.course = classroom.course
    other_classroom.save()
    populate(other_classroom, 50, skills, prefix="big")

    small, small_seen = dashboard_queries(classroom)
    big, big_seen = dashboard_queries(other_classroom)

    assert small_seen == {
        "rows": 5,
        "help": 5,
        "queue": 5,
        "mastery": 30,
        "attempts": 15,
        "detail": (3, 1),
    }
    assert big_seen == {
        "rows": 50,
        "help": 50,
        "queue": 5,
        "mastery": 300,
        "attempts": 150,
        "detail": (3, 1),
    }
    # class 2, summary 3, heatmap 1, needs help 4, queue 1, exports 2, drill-down 5
    assert small == big == 18
