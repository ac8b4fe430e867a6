"""Teacher pages: the class dashboard (heatmap, summary, needs help, flag queue), a student's
drill-down, read-only transcripts with provenance, resolving a flag, CSV exports; only for the
class's own teacher (404 otherwise), in a fixed number of queries."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.tutor.test_dashboards import enrol, make_course, offline_release, populate
from tutor.models import Attempt, Flag, Level, Mastery, Message, TutoringSession, User

NOW = timezone.now()


@pytest.fixture
def skills(classroom, student):
    User.objects.filter(pk=student.pk).update(last_name="Zed")
    return make_course(classroom)


@pytest.fixture
def session(student, skills):
    return TutoringSession.objects.create(
        student=student, problem=skills[0].problems.get(), problem_version=1
    )


@pytest.fixture
def conversation(session):
    """Alice answers wrong, the tutor replies (with provenance), she asks something worrying."""
    release = offline_release()
    answer = Message.objects.create(session=session, role="student", kind="answer", text="2/6",
                                    created_at=NOW - timedelta(minutes=5))  # fmt: skip
    Attempt.objects.create(student=session.student, problem=session.problem, problem_version=1, session=session,
                           message=answer, answer="2/6", correct=False, misconception_code="add-across", scored=True)  # fmt: skip
    reply = Message.objects.create(
        session=session, role="tutor", kind="reply", text="You added the tops and the bottoms. What about $\\frac{1}{2}$?",
        release=release, prompt_version="socratic-v1", backend="offline", model="offline-tutor-v1", total_ms=412.0,
        guard={"answer_leak": "pass"}, reply_to=answer, created_at=NOW - timedelta(minutes=4),
    )  # fmt: skip
    worry = Message.objects.create(session=session, role="student", kind="chat", text="<b>this is stupid</b>",
                                   created_at=NOW - timedelta(minutes=3))  # fmt: skip
    flag = Flag.objects.create(session=session, message=worry, kind=Flag.Kind.MODERATION, categories=["harassment"],
                               detail="Student message flagged by moderation.", created_at=NOW - timedelta(minutes=3))  # fmt: skip
    return {"reply": reply, "flag": flag}


def page(client, name, *args, **query):
    url = reverse(name, args=args)
    return client.get(url, query) if query else client.get(url)


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def squash(html: str) -> str:
    return re.sub(r"\s+", " ", html)


# --- who may see what -------------------------------------------------------------------------


def test_it_sends_anonymous_visitors_to_log_in(client, classroom, student, session):
    urls = [
        reverse("teacher-class", args=[classroom.pk]),
        reverse("teacher-class-student", args=[classroom.pk, student.pk]),
        reverse(
            "teacher-class-conversation", args=[classroom.pk, student.pk, session.pk]
        ),
        reverse("teacher-class-flags", args=[classroom.pk]),
        reverse("teacher-class-export-mastery", args=[classroom.pk]),
        reverse("teacher-class-export-attempts", args=[classroom.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (
            302,
            f"/login/?next={url}",
        )


def test_it_hides_every_page_of_another_teachers_class(
    login, teacher, other_classroom, other_student
):
    other_skills = make_course(other_classroom, code="other")
    other_session = TutoringSession.objects.create(
        student=other_student, problem=other_skills[0].problems.get(), problem_version=1
    )
    client = login(teacher)
    cid, sid = other_classroom.pk, other_student.pk
    assert page(client, "teacher-class", cid).status_code == 404
    assert page(client, "teacher-class-student", cid, sid).status_code == 404
    assert (
        page(
            client, "teacher-class-conversation", cid, sid, other_session.pk
        ).status_code
        == 404
    )
    assert page(client, "teacher-class-flags", cid).status_code == 404
    assert page(client, "teacher-class-export-mastery", cid).status_code == 404
    assert page(client, "teacher-class-export-attempts", cid).status_code == 404


def test_it_hides_a_student_or_conversation_that_is_not_in_this_class(
    login, teacher, classroom, other_classroom, other_student, session
):
    """Even one of the teacher's own students, opened through the wrong class."""
    other_classroom.teacher = teacher
    other_classroom.save()
    client = login(teacher)
    assert (
        page(
            client, "teacher-class-student", classroom.pk, other_student.pk
        ).status_code
        == 404
    )
    assert (
        page(
            client, "teacher-class-student", other_classroom.pk, session.student_id
        ).status_code
        == 404
    )
    assert (
        page(
            client,
            "teacher-class-conversation",
            other_classroom.pk,
            session.student_id,
            session.pk,
        ).status_code
        == 404
    )
    stranger_session = TutoringSession.objects.create(
        student=other_student, problem=session.problem, problem_version=1
    )
    assert (
        page(
            client,
            "teacher-class-conversation",
            classroom.pk,
            session.student_id,
            stranger_session.pk,
        ).status_code
        == 404
    )


def test_it_hides_teacher_pages_from_students(login, student, classroom, session):
    client = login(student)
    assert (
        page(client, "teacher-class-student", classroom.pk, student.pk).status_code
        == 404
    )
    assert (
        page(
            client, "teacher-class-conversation", classroom.pk, student.pk, session.pk
        ).status_code
        == 404
    )
    assert page(client, "teacher-class-export-mastery", classroom.pk).status_code == 404


# --- the class dashboard ----------------------------------------------------------------------


def test_it_shows_the_heatmap_with_a_letter_in_every_cell_and_full_skill_names(
    login, teacher, classroom, student, skills
):
    Mastery.objects.create(student=student, skill=skills[0], level=Level.MASTERED, p_known=0.97, n_scored=4,
                           next_review_at=NOW - timedelta(hours=1))  # fmt: skip
    Mastery.objects.create(
        student=student, skill=skills[1], level=Level.FAMILIAR, p_known=0.7, n_scored=3
    )

    html = squash(html_of(page(login(teacher), "teacher-class", classroom.pk)))

    heatmap = html[
        html.index('<table class="heatmap">') : html.index(
            "</table>", html.index('<table class="heatmap">')
        )
    ]
    assert heatmap.count('<td class="lvl ') == 6
    assert (
        '<td class="lvl lvl-mastered overdue" title="Skill 1.1: Mastered, 97% after 4 scored attempts, review overdue">'
        '<span aria-hidden="true">M!</span><span class="visually-hidden">Mastered, 97% after 4 scored attempts, '
        "review overdue</span></td>"
    ) in heatmap
    assert (
        '<td class="lvl lvl-familiar" title="Skill 1.2: Familiar, 70% after 3 scored attempts">'
        in heatmap
    )
    assert heatmap.count('<td class="lvl lvl-not_started" title="') == 4
    assert (
        f'<th scope="row" class="hm-student"><a href="/classes/{classroom.pk}/students/{student.pk}/">Alice Zed</a></th>'
    ) in heatmap
    assert (
        '<th scope="col" class="hm-skill" title="2.3 Skill 2.3 (Unit 2)"><a href="?sort=skill&amp;skill=maths-s2-3#heatmap">'
        '<span aria-hidden="true">2.3</span><span class="visually-hidden">Skill 2.3</span></a></th>'
    ) in heatmap
    assert '<td class="hm-total">1/6</td>' in heatmap
    assert (
        '<td class="hm-share">100%</td>' in heatmap
    )  # the class of one has mastered skill 1.1
    assert '<ul class="legend" aria-label="Legend">' in html
    assert (
        '<span class="lvl lvl-mastered overdue" aria-hidden="true">M!</span>Mastered, review overdue'
        in html
    )


def test_it_sorts_the_heatmap_by_a_skill_and_marks_the_sorted_column(
    login, teacher, classroom, student, skills
):
    bob = enrol(classroom, "bob2", "Bob", "Able")
    Mastery.objects.create(
        student=student, skill=skills[0], level=Level.ATTEMPTED, p_known=0.3
    )
    Mastery.objects.create(
        student=bob, skill=skills[0], level=Level.PROFICIENT, p_known=0.9
    )
    client = login(teacher)

    by_name = squash(html_of(page(client, "teacher-class", classroom.pk)))
    by_skill = squash(
        html_of(
            page(
                client, "teacher-class", classroom.pk, sort="skill", skill="maths-s1-1"
            )
        )
    )
    reversed_ = squash(
        html_of(
            page(
                client,
                "teacher-class",
                classroom.pk,
                sort="skill",
                skill="maths-s1-1",
                dir="desc",
            )
        )
    )

    assert by_name.index(">Bob Able<") < by_name.index(">Alice Zed<")
    assert by_skill.index(">Alice Zed<") < by_skill.index(">Bob Able<")
    assert reversed_.index(">Bob Able<") < reversed_.index(">Alice Zed<")
    assert (
        'aria-sort="ascending"><a href="?sort=skill&amp;skill=maths-s1-1&amp;dir=desc#heatmap">'
        in by_skill
    )
    assert (
        'aria-sort="descending"><a href="?sort=skill&amp;skill=maths-s1-1#heatmap">'
        in reversed_
    )
    assert (
        '<option value="skill" selected>By Skill 1.1, weakest first</option>'
        in by_skill
    )


def test_it_filters_the_heatmap_by_unit_and_404s_on_an_unknown_unit(
    login, teacher, classroom, student, skills
):
    client = login(teacher)

    html = squash(html_of(page(client, "teacher-class", classroom.pk, unit="maths-u2")))

    heatmap = html[html.index('<table class="heatmap">') :]
    assert re.findall(r'<span aria-hidden="true">(\d\.\d)</span>', heatmap) == [
        "2.1",
        "2.2",
        "2.3",
    ]
    assert '<option value="maths-u2" selected>2. Unit 2</option>' in html
    assert (
        '<a href="?unit=maths-u2&amp;sort=skill&amp;skill=maths-s2-1#heatmap">' in html
    )
    assert page(client, "teacher-class", classroom.pk, unit="nope").status_code == 404


def test_it_shows_the_class_summary_per_skill(
    login, teacher, classroom, student, skills
):
    bob = enrol(classroom, "bob2", "Bob", "Able")
    Mastery.objects.create(student=student, skill=skills[0], level=Level.MASTERED, p_known=0.97,
                           next_review_at=NOW - timedelta(hours=1))  # fmt: skip
    Mastery.objects.create(
        student=bob, skill=skills[0], level=Level.FAMILIAR, p_known=0.65
    )

    html = squash(html_of(page(login(teacher), "teacher-class", classroom.pk)))

    assert (
        '<th scope="row"><span class="abbr">1.1</span> Skill 1.1</th> <td><span class="share" aria-hidden="true">'
        '<span style="width: 50%"></span></span>1 of 2 (50%)</td> <td>2</td> <td>81%</td> <td>1</td>'
    ) in html
    assert (
        '<span class="stat-value">8%</span> <span class="stat-label">of skills mastered (1 of 12)</span>'
        in html
    )
    assert (
        '<span class="stat-value">1</span><span class="stat-label">review overdue</span>'
        in html
    )


def test_it_lists_who_needs_help_and_the_open_flags_linking_to_the_conversation(
    login, teacher, classroom, student, session, conversation
):
    Flag.objects.create(
        session=session, kind=Flag.Kind.DISTRESS, created_at=NOW - timedelta(hours=1)
    )
    Flag.objects.create(
        session=session,
        kind=Flag.Kind.THUMBS_DOWN,
        resolved_at=NOW,
        resolution_note="ok",
    )

    html = squash(html_of(page(login(teacher), "teacher-class", classroom.pk)))

    transcript = (
        f"/classes/{classroom.pk}/students/{student.pk}/conversations/{session.pk}/"
    )
    needs = html[html.index('id="needs-help"') : html.index('id="flags"')]
    assert (
        f'<a class="help-student" href="/classes/{classroom.pk}/students/{student.pk}/">Alice Zed</a>'
        in needs
    )
    assert (
        '<span class="badge badge-distress">Distress</span> Distress flagged on'
        in needs
    )
    assert (
        f'(still open) · <a href="{transcript}">open conversation<span class="visually-hidden"> with Alice Zed</span></a>'
        in needs
    )
    queue = html[html.index('id="flags"') : html.index('id="heatmap"')]
    assert re.findall(r'<span class="badge badge-(\w+)">', queue) == [
        "distress",
        "moderation",
    ]
    assert (
        f'<a href="{transcript}#m-{conversation["flag"].message_id}">Alice Zed · maths-p1-1</a>'
        in queue
    )
    assert f'<a href="/classes/{classroom.pk}/flags/">All flags (2 open)</a>' in queue


def test_it_keeps_the_join_code_roster_and_export_links_on_the_class_page(
    login, teacher, classroom, student, skills
):
    html = squash(html_of(page(login(teacher), "teacher-class", classroom.pk)))

    assert f'<p class="code" id="join-code">{classroom.join_code}</p>' in html
    assert "<h2>Roster (1)</h2>" in html
    assert (
        f'<a class="button secondary" href="/classes/{classroom.pk}/export/mastery.csv" download>'
        in html
    )
    assert (
        f'<a class="button secondary" href="/classes/{classroom.pk}/export/attempts.csv" download>'
        in html
    )


def test_it_says_so_when_the_class_has_no_course(login, teacher, classroom, student):
    html = html_of(page(login(teacher), "teacher-class", classroom.pk))
    assert "This class has no course yet, so there is no mastery to show." in html
    assert "No course yet" in html


# --- a student, a transcript ----------------------------------------------------------------


def test_it_shows_a_students_mastery_history_answers_and_conversations(
    login, teacher, classroom, student, session, conversation
):
    from tutor.mastery.tracking import apply_attempt

    for i, correct in enumerate([False, True]):
        apply_attempt(Attempt.objects.create(student=student, problem=session.problem, problem_version=1, scored=True,
                                             answer="3/4" if correct else "1/3", correct=correct,
                                             created_at=NOW - timedelta(hours=2 - i)))  # fmt: skip

    html = squash(
        html_of(page(login(teacher), "teacher-class-student", classroom.pk, student.pk))
    )

    assert "<h1>Alice Zed</h1>" in html
    assert html.count('<svg class="chart"') == 1
    assert 'aria-label="Skill 1.1: mastery from 20% to ' in html
    assert html.count('role="progressbar"') == 6
    answers = html[html.index('<table class="attempts">') :]
    assert re.findall(r'<code class="answer">([^<]*)</code>', answers) == [
        "2/6",
        "3/4",
        "1/3",
    ]  # newest first
    assert '<span class="verdict wrong">✗ Not yet</span>' in answers
    assert (
        '<strong>add-across</strong><span class="feedback">You added the tops and the bottoms.'
        in answers
    )
    assert (
        f'<a href="/classes/{classroom.pk}/students/{student.pk}/conversations/{session.pk}/">maths-p1-1'
        in html
    )
    assert '<span class="badge badge-open">1 open</span>' in html


def test_it_shows_a_transcript_read_only_with_the_release_and_prompt_of_every_tutor_reply(
    login, teacher, classroom, student, session, conversation
):
    client = login(teacher)
    url = reverse(
        "teacher-class-conversation", args=[classroom.pk, student.pk, session.pk]
    )

    html = squash(html_of(client.get(url)))

    assert html.count('<dl class="provenance" aria-label="Provenance">') == 1
    assert (
        "<div><dt>Release</dt><dd>offline-v1</dd></div> <div><dt>Prompt</dt><dd>socratic-v1</dd></div> "
        "<div><dt>Model</dt><dd>offline · offline-tutor-v1</dd></div> <div><dt>Time</dt><dd>412 ms</dd></div>"
    ) in html
    assert (
        "&lt;b&gt;this is stupid&lt;/b&gt;" in html
        and "<b>this is stupid</b>" not in html
    )
    assert (
        '<span class="verdict wrong">✗ Not yet</span> · misconception: <strong>add-across</strong>'
        in html
    )
    assert (
        f'<li id="m-{conversation["flag"].message_id}" class="turn turn-student turn-flagged">'
        in html
    )
    assert (
        html.count("<form") == 2
    )  # log out, and resolving the open flag: nothing edits the transcript
    before = list(Message.objects.values_list("pk", "text", "status"))
    assert client.post(url, {"text": "edited"}).status_code == 405
    assert list(Message.objects.values_list("pk", "text", "status")) == before


# --- flags -------------------------------------------------------------------------------------


def test_it_resolves_a_flag_with_a_note_and_goes_back_to_the_conversation(
    login, teacher, classroom, student, session, conversation
):
    flag = conversation["flag"]
    client = login(teacher)
    back = reverse(
        "teacher-class-conversation", args=[classroom.pk, student.pk, session.pk]
    )

    response = client.post(
        reverse("teacher-class-flag-resolve", args=[classroom.pk, flag.pk]),
        {"note": "Spoke to her.", "next": back},
    )

    assert (response.status_code, response["Location"]) == (302, back)
    flag.refresh_from_db()
    assert (flag.resolved_by, flag.resolution_note, flag.resolved_at is not None) == (
        teacher,
        "Spoke to her.",
        True,
    )
    html = squash(html_of(client.get(back)))
    assert "Moderation flag resolved. Your note is kept with it." in html
    assert "Resolved by " in html and ": Spoke to her.</p>" in html
    assert html.count("<form") == 1


def test_it_refuses_a_blank_note_and_a_second_resolution_changing_nothing(
    login, teacher, classroom, student, session, conversation
):
    flag = conversation["flag"]
    client = login(teacher)
    url = reverse("teacher-class-flag-resolve", args=[classroom.pk, flag.pk])

    response = client.post(url, {"note": "   "}, follow=True)
    assert (
        "Write a short note: what you saw and what you did."
        in response.content.decode()
    )
    flag.refresh_from_db()
    assert (flag.resolved_at, flag.resolution_note) == (None, "")

    client.post(url, {"note": "First."})
    response = client.post(url, {"note": "Second."}, follow=True)
    assert "This flag was already resolved." in response.content.decode()
    flag.refresh_from_db()
    assert flag.resolution_note == "First."


def test_it_refuses_to_resolve_another_teachers_flag_or_to_redirect_off_site(
    login, teacher, other_teacher, classroom, student, session, conversation
):
    flag = conversation["flag"]
    url = reverse("teacher-class-flag-resolve", args=[classroom.pk, flag.pk])
    assert login(other_teacher).post(url, {"note": "Mine now."}).status_code == 404
    assert login(teacher).get(url).status_code == 405
    flag.refresh_from_db()
    assert (flag.resolved_at, flag.resolution_note) == (None, "")

    response = login(teacher).post(
        url, {"note": "Fine.", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("teacher-class-flags", args=[classroom.pk])


def test_it_lists_open_and_resolved_flags_on_the_flags_page(
    login, teacher, classroom, session, conversation
):
    Flag.objects.create(session=session, kind=Flag.Kind.ANSWER_LEAK, resolved_at=NOW, resolved_by=teacher,
                        resolution_note="Guard worked.")  # fmt: skip
    client = login(teacher)

    opened = squash(html_of(page(client, "teacher-class-flags", classroom.pk)))
    resolved = squash(
        html_of(page(client, "teacher-class-flags", classroom.pk, status="resolved"))
    )

    assert re.findall(r'<span class="badge badge-(\w+)">', opened) == ["moderation"]
    assert '<a href="?status=open" aria-current="page">Open</a>' in opened
    assert re.findall(r'<span class="badge badge-(\w+)">', resolved) == ["answer_leak"]
    assert (
        f"Resolved by {teacher.display_name} on " in resolved
        and ": Guard worked.</p>" in resolved
    )


# --- CSV exports -------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_it_exports_the_classes_mastery_and_attempts_as_csv_and_nothing_else(
    login, teacher, classroom, student, session, other_classroom, other_student
):
    populate(
        other_classroom, 2, make_course(other_classroom, code="other"), prefix="them"
    )
    Mastery.objects.create(
        student=student,
        skill=session.problem.skill,
        level=Level.FAMILIAR,
        p_known=0.7,
        n_scored=3,
    )
    Attempt.objects.create(student=student, problem=session.problem, problem_version=1, session=session,
                           answer='=HYPERLINK("http://evil")', correct=False)  # fmt: skip
    client = login(teacher)

    mastery = page(client, "teacher-class-export-mastery", classroom.pk)
    attempts = page(client, "teacher-class-export-attempts", classroom.pk)

    today = timezone.localdate().isoformat()
    assert (
        mastery["Content-Disposition"]
        == f'attachment; filename="maths-7b-mastery-{today}.csv"'
    )
    assert (
        attempts["Content-Disposition"]
        == f'attachment; filename="maths-7b-attempts-{today}.csv"'
    )
    rows = read_csv(mastery)
    assert rows[0][:7] == [
        "student_id",
        "username",
        "student",
        "unit",
        "skill_code",
        "skill",
        "level",
    ]
    assert len(rows) == 1 + 6 and {r[1] for r in rows[1:]} == {"alice"}
    assert rows[1][:8] == [
        str(student.pk),
        "alice",
        "Alice Zed",
        "Unit 1",
        "maths-s1-1",
        "Skill 1.1",
        "familiar",
        "0.7000",
    ]
    rows = read_csv(attempts)
    assert len(rows) == 2
    assert rows[1][2:4] + rows[1][9:12] == [
        "alice",
        "Alice Zed",
        '\'=HYPERLINK("http://evil")',
        "",
        "no",
    ]


# --- a fixed number of queries ----------------------------------------------------------------


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_it_renders_every_teacher_page_in_the_same_number_of_queries_for_5_and_50_students(
    login, teacher, classroom, other_classroom, skills
):
    small = populate(classroom, 5, skills, prefix="small")
    other_classroom.teacher = teacher
    other_classroom.course = classroom.course
    other_classroom.save()
    big = populate(other_classroom, 50, skills, prefix="big")
    client = login(teacher)

    def counts(klass, someone) -> dict[str, int]:
        session = someone.tutoring_sessions.get()
        names = {
            "dashboard": reverse("teacher-class", args=[klass.pk]),
            "sorted": reverse("teacher-class", args=[klass.pk])
            + "?sort=mastery&columns=least-mastered&unit=maths-u1",
            "student": reverse("teacher-class-student", args=[klass.pk, someone.pk]),
            "conversation": reverse(
                "teacher-class-conversation", args=[klass.pk, someone.pk, session.pk]
            ),
            "flags": reverse("teacher-class-flags", args=[klass.pk]),
            "mastery.csv": reverse("teacher-class-export-mastery", args=[klass.pk]),
            "attempts.csv": reverse("teacher-class-export-attempts", args=[klass.pk]),
        }
        return {name: count_queries(client, url) for name, url in names.items()}

    expected = {
        "dashboard": 14, "sorted": 14, "student": 11, "conversation": 8, "flags": 5, "mastery.csv": 6, "attempts.csv": 6,
    }  # fmt: skip
    assert counts(classroom, small[0]) == expected
    assert counts(other_classroom, big[0]) == expected


def test_it_lists_my_classes_with_their_course_students_and_join_code(
    login, teacher, classroom, student, other_classroom, skills
):
    html = squash(html_of(page(login(teacher), "teacher-classes")))

    assert (
        f'<tr><td><a href="/classes/{classroom.pk}/">Maths 7B</a></td><td>Middle-school maths</td><td>1</td>'
        f'<td class="code">{classroom.join_code}</td></tr>'
    ) in html
    assert "Maths 8A" not in html


def test_it_folds_a_long_needs_help_list_after_eight_students(
    login, teacher, classroom, skills
):
    populate(classroom, 10, skills, prefix="kid")

    html = squash(html_of(page(login(teacher), "teacher-class", classroom.pk)))

    needs = html[html.index('id="needs-help"') : html.index('id="flags"')]
    folded = needs[needs.index('<details class="more">') :]
    assert needs.count('class="help-student"') == 10
    assert folded.count('class="help-student"') == 2
    assert "<summary>2 more</summary>" in folded
