"""The tutoring API as a client uses it: start a session, send turns (whole replies), read the
transcript, rate a reply; only ever on the student's own sessions."""

import pytest
from django.urls import reverse

from tutor import tutoring
from tutor.models import Message


@pytest.fixture
def as_student(api_client, student):
    api_client.force_authenticate(student)
    return api_client


def start(client, problem) -> int:
    response = client.post(reverse("api-sessions"), {"problem": problem.pk}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def send(client, session_id: int, **body):
    return client.post(reverse("api-session-turns", args=[session_id]), body, format="json")


def test_a_turn_returns_the_whole_reply_with_its_provenance_and_the_transcript_keeps_both(as_student, problem):
    session_id = start(as_student, problem)

    response = send(as_student, session_id, kind="chat", text="I don't know where to start")

    assert response.status_code == 201
    body = response.json()
    assert (body["message"]["role"], body["message"]["status"], body["error"]) == ("student", "complete", None)
    assert body["verdict"] is None
    reply = body["reply"]
    assert (reply["role"], reply["release"], reply["backend"], reply["prompt_version"]) == (
        "tutor", "offline-v1", "offline", "socratic-v1",
    )  # fmt: skip
    assert reply["text"] == Message.objects.get(reply_to_id=body["message"]["id"]).text
    transcript = as_student.get(reverse("api-session", args=[session_id])).json()
    assert [(m["role"], m["status"]) for m in transcript["messages"]] == [("student", "complete"), ("tutor", "complete")]
    assert Message.objects.get(pk=body["message"]["id"]).status == Message.Status.COMPLETE


def test_an_answer_turn_is_checked_and_a_resent_client_id_returns_the_same_turn(as_student, problem):
    session_id = start(as_student, problem)

    first = send(as_student, session_id, kind="answer", text="1/2", client_id="tab-1:7").json()
    again = send(as_student, session_id, kind="answer", text="1/2", client_id="tab-1:7").json()

    assert first["verdict"]["correct"] is False
    assert (again["message"]["id"], again["reply"]["id"]) == (first["message"]["id"], first["reply"]["id"])
    assert Message.objects.filter(session_id=session_id).count() == 2


def test_a_reply_that_fails_is_a_503_with_the_message_kept_as_failed(as_student, problem, monkeypatch):
    async def broken(plan, job):
        raise RuntimeError("the provider layer blew up")

    monkeypatch.setattr(tutoring, "_run_reply", broken)
    session_id = start(as_student, problem)

    response = send(as_student, session_id, kind="chat", text="help")

    assert response.status_code == 503
    body = response.json()
    assert (body["message"]["status"], body["reply"], body["error"]) == ("failed", None, tutoring.UNAVAILABLE)
    assert body["message"]["text"] == "help"


def test_it_refuses_bad_turns_and_other_students_sessions(as_student, api_client, problem, other_student):
    session_id = start(as_student, problem)
    assert send(as_student, session_id, kind="shout", text="hi").status_code == 400
    assert send(as_student, session_id, kind="chat", text="   ").status_code == 400

    api_client.force_authenticate(other_student)
    assert send(api_client, session_id, kind="chat", text="hi").status_code == 404
    assert api_client.get(reverse("api-session", args=[session_id])).status_code == 404
    assert Message.objects.filter(session_id=session_id).count() == 0


def test_a_student_rates_their_own_replies_only(as_student, api_client, problem, other_student):
    session_id = start(as_student, problem)
    reply_id = send(as_student, session_id, kind="chat", text="help").json()["reply"]["id"]

    rated = as_student.post(reverse("api-message-rating", args=[reply_id]), {"value": -1, "comment": "vague"}, format="json")

    assert rated.status_code == 201
    assert Message.objects.get(pk=reply_id).ratings.get().comment == "vague"
    api_client.force_authenticate(other_student)
    assert api_client.post(reverse("api-message-rating", args=[reply_id]), {"value": 1}, format="json").status_code == 404


def test_a_streamed_turn_is_stored_first_and_points_at_its_stream(as_student, problem):
    session_id = start(as_student, problem)

    response = as_student.post(
        reverse("api-session-messages", args=[session_id]), {"kind": "chat", "text": "help"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert body["message"]["status"] == "pending"
    assert body["stream_url"] == reverse("api-message-stream", args=[body["message"]["id"]])
    assert body["solved"] is False


def test_a_chat_turn_writes_its_message_without_locking_the_session_or_reading_it_back(
    as_student, problem, django_assert_num_queries
):
    session_id = start(as_student, problem)
    send(as_student, session_id, kind="chat", text="warm-up")  # the production release row exists now

    with django_assert_num_queries(15) as captured:
        response = send(as_student, session_id, kind="chat", text="I'm stuck")

    assert response.status_code == 201
    statements = [query["sql"] for query in captured.captured_queries]
    assert not [sql for sql in statements if "FOR UPDATE" in sql]
    student_message_reads = [
        sql for sql in statements if sql.startswith('SELECT "tutor_message"."id"') and "curriculum_skill" in sql
    ]
    assert student_message_reads == []  # generated from the message the turn just wrote
    assert Message.objects.get(pk=response.json()["message"]["id"]).status == Message.Status.COMPLETE


def test_hint_turns_climb_the_ladder_one_rung_each_and_report_it(as_student, problem):
    session_id = start(as_student, problem)

    for _ in range(len(problem.hints) + 1):
        assert send(as_student, session_id, kind="hint", text="").status_code == 201

    from tutor.models import TutoringSession

    assert TutoringSession.objects.get(pk=session_id).hints_given == len(problem.hints)
    assert Message.objects.filter(session_id=session_id, kind="hint_request", status="complete").count() == len(problem.hints) + 1


def test_a_streamed_answer_reports_the_session_solved(as_student, problem):
    session_id = start(as_student, problem)

    response = as_student.post(
        reverse("api-session-messages", args=[session_id]), {"kind": "answer", "text": problem.final_answer}, format="json"
    )

    assert response.status_code == 201
    assert (response.json()["verdict"]["correct"], response.json()["solved"]) == (True, True)
