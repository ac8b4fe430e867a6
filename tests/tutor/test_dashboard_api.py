"""The dashboard API: a class's summary, who needs help, mastery per student, attempts,
conversations and transcripts (read-only), flags (list and resolve). Only the class's teacher
(or their organisation's admin); 404 for anyone else, and nothing changes. Paginated, documented,
a fixed number of queries whatever the class size."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.utils import timezone
from drf_spectacular.views import SpectacularAPIView

from tests.tutor.test_dashboards import make_course, offline_release, populate
from tutor.models import Attempt, Flag, Level, Mastery, Message, TutoringSession, User

# Until the project URLconf includes it, the tests mount the module the lead will include under /api/.
urlpatterns = [
    path("api/", include("tutor.api.dashboard_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
]
pytestmark = pytest.mark.urls(__name__)

NOW = timezone.now()


@pytest.fixture
def skills(classroom, student):
    User.objects.filter(pk=student.pk).update(last_name="Zed")
    return make_course(classroom)


@pytest.fixture
def session(student, skills):
    return TutoringSession.objects.create(
        student=student,
        problem=skills[0].problems.get(),
        problem_version=1,
        started_at=NOW - timedelta(hours=1),
    )


@pytest.fixture
def as_teacher(api_client, teacher):
    api_client.force_authenticate(teacher)
    return api_client


def url(classroom, tail=""):
    return f"/api/classes/{classroom.pk}/{tail}"


def alice(student):
    return {"id": student.pk, "username": "alice", "display_name": "Alice Zed"}


def get_ok(client, address, **query):
    response = client.get(address, query)
    assert response.status_code == 200, response.content
    return response.json()


# --- reads -----------------------------------------------------------------------------------


def test_it_summarises_a_class(as_teacher, classroom, student, skills):
    Mastery.objects.create(student=student, skill=skills[0], level=Level.MASTERED, p_known=0.97,
                           next_review_at=NOW - timedelta(hours=1))  # fmt: skip
    Mastery.objects.create(
        student=student, skill=skills[4], level=Level.FAMILIAR, p_known=0.7
    )

    body = get_ok(as_teacher, url(classroom, "summary/"), unit="maths-u2")

    assert {k: v for k, v in body.items() if k != "skills"} == {
        "n_students": 1, "n_skills": 3, "n_mastered": 0, "share_mastered": 0.0, "n_reviews_overdue": 0,
        "n_open_flags": 0, "n_active_recently": 0,
    }  # fmt: skip
    assert body["skills"][1] == {
        "skill": {"id": skills[4].pk, "code": "maths-s2-2", "name": "Skill 2.2", "unit": "maths-u2"},
        "abbreviation": "2.2", "n_started": 1, "n_mastered": 0, "share_mastered": 0.0, "n_reviews_overdue": 0,
        "mean_p_known": 0.7,
    }  # fmt: skip
    whole = get_ok(as_teacher, url(classroom, "summary/"))
    assert (whole["n_skills"], whole["n_mastered"], whole["n_reviews_overdue"]) == (
        6,
        1,
        1,
    )
    assert (
        as_teacher.get(url(classroom, "summary/"), {"unit": "nope"}).status_code == 404
    )


def test_it_lists_who_needs_help_with_reasons(
    as_teacher, classroom, student, session, skills
):
    Flag.objects.create(
        session=session, kind=Flag.Kind.DISTRESS, created_at=NOW - timedelta(hours=1)
    )
    Mastery.objects.create(
        student=student,
        skill=skills[1],
        level=Level.ATTEMPTED,
        p_known=0.25,
        n_scored=6,
    )

    body = get_ok(as_teacher, url(classroom, "needs-help/"))

    assert (body["count"], body["next"], body["previous"]) == (1, None, None)
    (item,) = body["results"]
    assert item["student"] == alice(student)
    assert [(r["kind"], r["kind_label"], r["session"]) for r in item["reasons"]] == [
        ("distress", "Distress", session.pk), ("low_mastery", "Low mastery", None),
    ]  # fmt: skip
    assert item["reasons"][1]["text"] == "Skill 1.2: 25% after 6 scored attempts"


def test_it_gives_mastery_per_student_one_page_of_students_at_a_time(
    as_teacher, classroom, skills
):
    populate(classroom, 51, skills[:2], prefix="kid")  # alice plus 51: two pages of 50

    first = get_ok(as_teacher, url(classroom, "mastery/"))
    second = get_ok(as_teacher, url(classroom, "mastery/"), page=2)

    assert (first["count"], len(first["results"]), len(second["results"])) == (
        52,
        50,
        2,
    )
    assert first["next"].endswith(f"/api/classes/{classroom.pk}/mastery/?page=2")
    assert [r["student"]["username"] for r in second["results"]] == [
        "kid50",
        "alice",
    ]  # Kid.. Test, then Alice Zed
    kid = first["results"][0]
    assert kid["student"]["username"] == "kid00"
    assert kid["skills"][0] == {"skill": "maths-s1-1", "level": "attempted", "p_known": 0.3, "n_scored": 6,
                                "review_overdue": False}  # fmt: skip
    assert [c["skill"] for c in kid["skills"]] == [s.code for s in skills]
    assert second["results"][1]["skills"][0] == {
        "skill": "maths-s1-1", "level": "not_started", "p_known": None, "n_scored": 0, "review_overdue": False,
    }  # fmt: skip
    assert (kid["n_mastered"], round(kid["progress"], 4)) == (
        0,
        round((0.3 + 0.65) / 6, 4),
    )  # not started counts 0


def test_it_narrows_mastery_to_a_unit_and_a_student(
    as_teacher, classroom, student, skills
):
    populate(classroom, 2, skills, prefix="kid")

    body = get_ok(
        as_teacher, url(classroom, "mastery/"), unit="maths-u2", student=student.pk
    )

    assert body["count"] == 1
    assert body["results"][0]["student"] == alice(student)
    assert [c["skill"] for c in body["results"][0]["skills"]] == [
        "maths-s2-1",
        "maths-s2-2",
        "maths-s2-3",
    ]
    assert (
        as_teacher.get(url(classroom, "mastery/"), {"student": "x"}).status_code == 400
    )


def test_it_lists_the_classes_attempts_newest_first_with_verdict_and_misconception(
    as_teacher, classroom, student, session, skills
):
    wrong = Attempt.objects.create(student=student, problem=session.problem, problem_version=1, session=session,
                                   answer="2/6", normalized="1/3", correct=False, misconception_code="add-across",
                                   scored=True, created_at=NOW - timedelta(minutes=5))  # fmt: skip
    right = Attempt.objects.create(student=student, problem=skills[3].problems.get(), problem_version=1, answer="3/4",
                                   normalized="3/4", correct=True, hints_used=1, created_at=NOW)  # fmt: skip

    body = get_ok(as_teacher, url(classroom, "attempts/"))

    assert body["count"] == 2
    assert body["results"][1] == {
        "id": wrong.pk, "student": alice(student), "created_at": body["results"][1]["created_at"], "skill": "maths-s1-1",
        "problem": "maths-p1-1", "problem_version": 1, "answer": "2/6", "normalized": "1/3", "correct": False,
        "scored": True, "hints_used": 0, "misconception": "add-across", "session": session.pk,
    }  # fmt: skip
    assert body["results"][0]["id"] == right.pk
    by_skill = get_ok(as_teacher, url(classroom, "attempts/"), skill="maths-s2-1")
    assert [a["id"] for a in by_skill["results"]] == [right.pk]
    assert (
        get_ok(as_teacher, url(classroom, "attempts/"), student=student.pk + 999)[
            "count"
        ]
        == 0
    )


def test_it_lists_conversations_and_gives_a_transcript_with_the_provenance_of_every_reply(
    as_teacher, classroom, student, session
):
    release = offline_release()
    asked = Message.objects.create(
        session=session, role="student", kind="answer", text="2/6", created_at=NOW
    )
    Attempt.objects.create(student=student, problem=session.problem, problem_version=1, session=session, message=asked,
                           answer="2/6", normalized="1/3", correct=False, misconception_code="add-across", scored=True)  # fmt: skip
    reply = Message.objects.create(
        session=session, role="tutor", kind="reply", text="Check the denominators.", release=release,
        prompt_version="socratic-v1", backend="offline", model="offline-tutor-v1", total_ms=200.0, first_token_ms=20.0,
        guard={"answer_leak": "pass"}, created_at=NOW + timedelta(seconds=1),
    )  # fmt: skip
    flag = Flag.objects.create(
        session=session, message=reply, kind=Flag.Kind.THUMBS_DOWN
    )

    listed = get_ok(as_teacher, url(classroom, "conversations/"), flagged="open")
    transcript = get_ok(
        as_teacher, url(classroom, f"conversations/{session.pk}/messages/")
    )

    (conversation,) = listed["results"]
    assert {k: conversation[k] for k in ("id", "student", "problem", "skill", "status", "n_messages", "n_flags",
                                         "n_open_flags")} == {
        "id": session.pk, "student": alice(student), "problem": "maths-p1-1", "skill": "maths-s1-1", "status": "active",
        "n_messages": 2, "n_flags": 1, "n_open_flags": 1,
    }  # fmt: skip
    assert transcript["count"] == 2
    first, second = transcript["results"]
    assert (
        first["role"],
        first["text"],
        first["release"],
        first["prompt_version"],
    ) == ("student", "2/6", None, "")
    assert first["verdict"] == {
        "correct": False,
        "normalized": "1/3",
        "misconception": "add-across",
        "scored": True,
    }
    assert {k: second[k] for k in ("role", "text", "release", "prompt_version", "backend", "model", "total_ms", "guard",
                                   "flags", "rating", "verdict")} == {
        "role": "tutor", "text": "Check the denominators.", "release": "offline-v1", "prompt_version": "socratic-v1",
        "backend": "offline", "model": "offline-tutor-v1", "total_ms": 200.0, "guard": {"answer_leak": "pass"},
        "flags": [flag.pk], "rating": None, "verdict": None,
    }  # fmt: skip
    Flag.objects.filter(pk=flag.pk).update(resolved_at=NOW)
    assert (
        get_ok(as_teacher, url(classroom, "conversations/"), flagged="open")["count"]
        == 0
    )
    assert (
        get_ok(as_teacher, url(classroom, "conversations/"), flagged="any")["count"]
        == 1
    )


def test_it_keeps_transcripts_read_only(as_teacher, classroom, student, session):
    Message.objects.create(session=session, role="student", kind="chat", text="hello")
    address = url(classroom, f"conversations/{session.pk}/messages/")
    before = list(Message.objects.values_list("pk", "text", "status"))

    for method in ("post", "put", "patch", "delete"):
        response = getattr(as_teacher, method)(
            address, {"text": "rewritten"}, format="json"
        )
        assert response.status_code == 405, method

    assert list(Message.objects.values_list("pk", "text", "status")) == before


# --- flags -----------------------------------------------------------------------------------


def test_it_lists_open_flags_by_default_and_filters_by_status_and_kind(
    as_teacher, classroom, student, session, teacher
):
    leak = Flag.objects.create(
        session=session, kind=Flag.Kind.ANSWER_LEAK, detail="Stated 3/4."
    )
    distress = Flag.objects.create(
        session=session, kind=Flag.Kind.DISTRESS, categories=["self_harm"]
    )
    done = Flag.objects.create(session=session, kind=Flag.Kind.MODERATION, resolved_at=NOW, resolved_by=teacher,
                               resolution_note="Handled.")  # fmt: skip

    opened = get_ok(as_teacher, url(classroom, "flags/"))
    assert [f["id"] for f in opened["results"]] == [distress.pk, leak.pk]
    assert opened["results"][1] == {
        "id": leak.pk, "kind": "answer_leak", "kind_label": "Answer-leak guard", "categories": [], "detail": "Stated 3/4.",
        "created_at": opened["results"][1]["created_at"], "student": alice(student), "session": session.pk,
        "problem": "maths-p1-1", "message": None, "resolved_at": None, "resolved_by": None, "resolution_note": "",
    }  # fmt: skip
    resolved = get_ok(as_teacher, url(classroom, "flags/"), status="resolved")
    assert [
        (f["id"], f["resolved_by"], f["resolution_note"]) for f in resolved["results"]
    ] == [(done.pk, teacher.display_name, "Handled.")]
    assert get_ok(as_teacher, url(classroom, "flags/"), status="all")["count"] == 3
    assert [
        f["id"]
        for f in get_ok(as_teacher, url(classroom, "flags/"), kind="distress")[
            "results"
        ]
    ] == [distress.pk]
    assert (
        as_teacher.get(url(classroom, "flags/"), {"status": "closed"}).status_code
        == 400
    )
    assert as_teacher.get(url(classroom, "flags/"), {"kind": "spam"}).status_code == 400


def test_it_resolves_a_flag_with_a_note_once(as_teacher, classroom, session, teacher):
    flag = Flag.objects.create(session=session, kind=Flag.Kind.MODERATION)
    address = url(classroom, f"flags/{flag.pk}/resolve/")

    response = as_teacher.post(address, {"note": "Talked to her."}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["resolved_by"], body["resolution_note"]) == (
        flag.pk,
        teacher.display_name,
        "Talked to her.",
    )
    flag.refresh_from_db()
    assert (flag.resolved_by, flag.resolution_note, flag.resolved_at is not None) == (
        teacher,
        "Talked to her.",
        True,
    )
    again = as_teacher.post(address, {"note": "Again."}, format="json")
    assert (again.status_code, again.json()["error"]) == (409, "already_resolved")
    flag.refresh_from_db()
    assert flag.resolution_note == "Talked to her."


def test_it_refuses_to_resolve_without_a_note_changing_nothing(
    as_teacher, classroom, session
):
    flag = Flag.objects.create(session=session, kind=Flag.Kind.MODERATION)
    for body in ({}, {"note": ""}, {"note": "   "}, {"note": "x" * 2001}):
        assert (
            as_teacher.post(
                url(classroom, f"flags/{flag.pk}/resolve/"), body, format="json"
            ).status_code
            == 400
        )
    flag.refresh_from_db()
    assert (flag.resolved_at, flag.resolved_by, flag.resolution_note) == (
        None,
        None,
        "",
    )


# --- who may see what -------------------------------------------------------------------------


def endpoints(classroom, session) -> dict[str, str]:
    return {
        "summary": url(classroom, "summary/"),
        "needs-help": url(classroom, "needs-help/"),
        "mastery": url(classroom, "mastery/"),
        "attempts": url(classroom, "attempts/"),
        "conversations": url(classroom, "conversations/"),
        "transcript": url(classroom, f"conversations/{session.pk}/messages/"),
        "flags": url(classroom, "flags/"),
    }


def test_it_answers_404_to_another_teacher_and_to_a_student_and_changes_nothing(
    api_client, other_teacher, student, classroom, session
):
    flag = Flag.objects.create(session=session, kind=Flag.Kind.DISTRESS)
    for who in (other_teacher, student):
        api_client.force_authenticate(who)
        for address in endpoints(classroom, session).values():
            response = api_client.get(address)
            assert (response.status_code, response.json()) == (
                404,
                {"error": "not_found", "detail": "Not found."},
            ), address
        response = api_client.post(
            url(classroom, f"flags/{flag.pk}/resolve/"),
            {"note": "Mine."},
            format="json",
        )
        assert response.status_code == 404
    flag.refresh_from_db()
    assert (flag.resolved_at, flag.resolution_note) == (None, "")


def test_it_refuses_anonymous_callers(api_client, classroom, session):
    flag = Flag.objects.create(session=session, kind=Flag.Kind.DISTRESS)
    for address in endpoints(classroom, session).values():
        response = api_client.get(address)
        assert (response.status_code, response.json()["detail"]) == (
            403, "Authentication credentials were not provided."
        ), address  # fmt: skip
    assert (
        api_client.post(
            url(classroom, f"flags/{flag.pk}/resolve/"), {"note": "x"}
        ).status_code
        == 403
    )
    flag.refresh_from_db()
    assert flag.resolved_at is None


def test_it_hides_a_conversation_or_flag_of_another_class_behind_my_class_id(
    as_teacher, classroom, other_classroom, other_student, session
):
    other_skills = make_course(other_classroom, code="other")
    theirs = TutoringSession.objects.create(
        student=other_student, problem=other_skills[0].problems.get(), problem_version=1
    )
    their_flag = Flag.objects.create(session=theirs, kind=Flag.Kind.MODERATION)

    assert (
        as_teacher.get(
            url(classroom, f"conversations/{theirs.pk}/messages/")
        ).status_code
        == 404
    )
    assert (
        as_teacher.post(
            url(classroom, f"flags/{their_flag.pk}/resolve/"),
            {"note": "x"},
            format="json",
        ).status_code
        == 404
    )
    assert get_ok(as_teacher, url(classroom, "flags/"), status="all")["count"] == 0
    their_flag.refresh_from_db()
    assert their_flag.resolved_at is None


def test_it_lets_an_admin_of_the_organisation_read_a_class(
    api_client, admin_user, classroom, student, skills
):
    api_client.force_authenticate(admin_user)
    assert get_ok(api_client, url(classroom, "summary/"))["n_students"] == 1


# --- schema and query counts ------------------------------------------------------------------


def test_it_documents_every_endpoint_paginated_in_the_openapi_schema(as_teacher):
    schema = as_teacher.get("/api/schema/", {"format": "json"}).json()

    paths = schema["paths"]
    prefix = "/api/classes/{classroom_id}/"
    assert sorted(p for p in paths if p.startswith(prefix)) == [
        prefix + "attempts/", prefix + "conversations/", prefix + "conversations/{session_id}/messages/",
        prefix + "flags/", prefix + "flags/{flag_id}/resolve/", prefix + "mastery/", prefix + "needs-help/",
        prefix + "summary/",
    ]  # fmt: skip
    for tail in (
        "attempts/",
        "conversations/",
        "conversations/{session_id}/messages/",
        "flags/",
        "mastery/",
        "needs-help/",
    ):
        operation = paths[prefix + tail]["get"]
        reference = operation["responses"]["200"]["content"]["application/json"][
            "schema"
        ]["$ref"]
        assert reference.startswith("#/components/schemas/Paginated"), tail
        assert "page" in [p["name"] for p in operation["parameters"]], tail
    assert set(paths[prefix + "conversations/{session_id}/messages/"]) == {"get"}
    resolve = paths[prefix + "flags/{flag_id}/resolve/"]["post"]
    assert resolve["requestBody"]["content"]["application/json"]["schema"]["$ref"] == (
        "#/components/schemas/ResolveFlagInputRequest"
    )
    assert set(resolve["responses"]) == {"200"}
    components = schema["components"]["schemas"]
    assert components["PaginatedTranscriptMessageOutputList"]["properties"]["results"][
        "items"
    ] == {"$ref": "#/components/schemas/TranscriptMessageOutput"}
    message = components["TranscriptMessageOutput"]["properties"]
    assert {"release", "prompt_version", "verdict", "guard"} <= set(message)
    assert components["ClassSummaryOutput"]["properties"]["skills"]["items"] == {
        "$ref": "#/components/schemas/ClassSkillSummaryOutput"
    }


def test_it_answers_every_endpoint_in_the_same_number_of_queries_for_5_and_50_students(
    as_teacher, teacher, classroom, other_classroom, skills
):
    small = populate(classroom, 5, skills, prefix="small")
    other_classroom.teacher = teacher
    other_classroom.course = classroom.course
    other_classroom.save()
    big = populate(other_classroom, 50, skills, prefix="big")

    def counts(klass, someone) -> dict[str, int]:
        result = {}
        for name, address in endpoints(klass, someone.tutoring_sessions.get()).items():
            with CaptureQueriesContext(connection) as queries:
                assert as_teacher.get(address).status_code == 200
            result[name] = len(queries)
        return result

    expected = {
        "summary": 6, "needs-help": 7, "mastery": 4, "attempts": 3, "conversations": 3, "transcript": 5, "flags": 3,
    }  # fmt: skip
    assert counts(classroom, small[0]) == expected
    assert counts(other_classroom, big[0]) == expected
