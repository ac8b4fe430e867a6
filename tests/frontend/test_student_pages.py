"""Student pages rendered through the test client: home, practice, progress."""

from asgiref.sync import async_to_sync

from tests.factories import ProblemFactory
from tutor import tutoring


def _course_class(classroom):
    problem = ProblemFactory()
    classroom.course = problem.course
    classroom.save()
    return problem


def test_it_shows_the_progress_page_with_a_mastery_chart(login, student, classroom):
    problem = _course_class(classroom)
    session = tutoring.start_session(student, problem.pk)
    tutoring.submit_turn(student, session, kind="answer", text="3/4")
    response = login(student).get("/progress/")
    page = response.content.decode()
    assert response.status_code == 200
    assert '<svg class="chart"' in page
    assert "mastery from 20% to " in page
    assert problem.code in page


def test_it_offers_the_recommended_problem_on_the_student_home(login, student, classroom):
    problem = _course_class(classroom)
    page = login(student).get("/").content.decode()
    assert f'id="continue" href="/practice/{problem.pk}/"' in page
    assert "0 of 1 skills mastered" in page


def test_it_renders_a_practice_page_with_the_transcript_escaped(login, student, classroom):
    problem = _course_class(classroom)
    session = tutoring.start_session(student, problem.pk)
    turn = tutoring.submit_turn(student, session, kind="chat", text="<b>hi</b> <script>alert(1)</script>")
    async_to_sync(tutoring.complete_reply)(turn.message.pk)
    page = login(student).get(f"/practice/{problem.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "Offline tutor" in page


def test_it_hides_practice_pages_from_teachers(login, teacher, problem):
    assert login(teacher).get(f"/practice/{problem.pk}/").status_code == 404


def test_it_shows_the_outcome_with_the_mastery_change_once_solved(login, student, classroom):
    problem = _course_class(classroom)
    session = tutoring.start_session(student, problem.pk)
    tutoring.submit_turn(student, session, kind="answer", text="3/4")
    page = login(student).get(f"/practice/sessions/{session.pk}/outcome/").content.decode()
    assert "Solved!" in page
    assert 'data-testid="mastery-change">20% → ' in page
