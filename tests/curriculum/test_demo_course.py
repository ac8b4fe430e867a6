"""The demo course: it imports, it is big enough to be useful, and every answer key is right."""

import pytest

from curriculum.checking import check_answer, find_answer_in_text
from curriculum.demo import DEMO_COURSE_DIR, seed_curriculum
from curriculum.importer import import_course, prompt_values
from curriculum.models import Course, Problem, Skill, Unit


@pytest.fixture
def demo_course(db) -> Course:
    report = import_course(DEMO_COURSE_DIR)
    return Course.objects.get(code=report.course_code)


def test_it_imports_the_demo_course_with_every_unit_file_listed(db):
    report = import_course(DEMO_COURSE_DIR)

    # Hint leaks are warnings for the importer; test_no_hint_gives_the_final_answer_away fails on them.
    assert [str(w) for w in report.warnings if "give away" not in w.message] == []
    assert report.counts["problems"]["created"] == Problem.objects.count()
    assert report.counts["units"]["created"] == 6


def test_it_has_enough_content_to_teach_from(demo_course):
    skills = list(Skill.objects.active().filter(course=demo_course))
    problems = list(Problem.objects.active().filter(course=demo_course))
    thin = {
        s.code: n
        for s in skills
        if (n := sum(p.skill_id == s.id for p in problems)) < 8
    }

    assert Unit.objects.active().filter(course=demo_course).count() >= 4
    assert len(skills) >= 18
    assert len(problems) >= 144
    assert thin == {}
    assert [s.code for s in skills if not s.lesson.strip()] == []
    assert [p.code for p in problems if len(p.hints) < 3] == []
    assert [p.code for p in problems if not p.solution.strip()] == []
    assert sum(bool(p.misconceptions) for p in problems) * 2 >= len(problems)


def test_its_prerequisites_form_a_connected_graph(demo_course):
    skills = list(
        Skill.objects.active()
        .filter(course=demo_course)
        .prefetch_related("prerequisites", "dependents")
    )

    assert [
        s.code for s in skills if not s.prerequisites.all() and not s.dependents.all()
    ] == []
    assert sum(1 for s in skills if s.prerequisites.all()) >= len(skills) // 2


def test_every_problem_accepts_its_own_answer(demo_course):
    rejected = []
    for problem in Problem.objects.filter(course=demo_course):
        verdict = check_answer(problem.answer_key(), problem.final_answer)
        if not verdict.correct:
            rejected.append((problem.code, problem.final_answer, verdict.feedback))

    assert rejected == []


def test_every_misconception_answer_is_rejected_and_named(demo_course):
    wrong = []
    for problem in Problem.objects.filter(course=demo_course):
        key = problem.answer_key()
        for misconception in problem.misconceptions:
            if "answer" not in misconception:
                continue
            verdict = check_answer(key, misconception["answer"])
            matched = verdict.misconception.code if verdict.misconception else None
            if verdict.correct or matched != misconception["code"]:
                wrong.append(
                    (
                        problem.code,
                        misconception["code"],
                        misconception["answer"],
                        verdict.correct,
                        matched,
                    )
                )

    assert wrong == []


def test_no_hint_gives_the_final_answer_away(demo_course):
    leaks = []
    for problem in Problem.objects.filter(course=demo_course):
        key = problem.answer_key()
        known = prompt_values(problem.prompt)
        for index, hint in enumerate(problem.hints):
            mention = find_answer_in_text(key, hint["text"], known_values=known)
            if mention is not None:
                leaks.append((problem.code, index, hint["kind"], mention.value))

    assert leaks == []


def test_the_demo_step_imports_the_course_for_the_demo_class_and_is_idempotent(
    classroom,
):
    lines: list[str] = []

    seed_curriculum(classroom, lines.append)
    classroom.refresh_from_db()
    course = Course.objects.get(code="ms-math")
    assert classroom.course == course
    assert lines[0] == "curriculum: Imported ms-math (Middle-School Mathematics):"
    versions = dict(Problem.objects.values_list("code", "version"))

    lines.clear()
    seed_curriculum(classroom, lines.append)

    assert lines[-1] == "curriculum:   nothing changed"
    assert dict(Problem.objects.values_list("code", "version")) == versions
    assert Course.objects.count() == 1
