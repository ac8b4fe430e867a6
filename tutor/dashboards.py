"""Read side of the teacher dashboards: one class's mastery heatmap, its summary, who needs help
and why, the flag queue, a student's drill-down, transcripts, and the rows of the CSV exports.

Scope: a class's data is the work of its current students (active enrollments) on the class's
course. Attempts, sessions and flags do not record a class, so a student in two classes on the
same course is seen by both teachers; a class without a course shows no work.

Every function here runs a fixed number of queries whatever the size of the class (the tests
count them for 5 and 50 students): rows are fetched in bulk, aggregated in the database where a
count will do, and joined in Python, never looked up per student. Permission checks come first,
in the caller (``access.get_classroom_for_teacher``); nothing here checks who is asking.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.db.models import (
    Avg,
    Case,
    Count,
    F,
    IntegerField,
    Max,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone

from tutor.errors import NotFound
from tutor.mastery import bkt
from tutor.models import (
    Attempt,
    Classroom,
    Flag,
    Level,
    Mastery,
    MasteryChange,
    Message,
    TutoringSession,
    User,
)

if TYPE_CHECKING:
    from curriculum.models import Problem, Skill, Unit

# --- "needs help": what makes a student show up, and why ----------------------------------------
RECENT = timedelta(days=14)  # stuck problems and distress flags look this far back
LOW_MASTERY_MIN_ATTEMPTS = 5  # scored attempts on a skill ...
LOW_MASTERY_BELOW = bkt.FAMILIAR_AT  # ... and P(known) still under "familiar"
STUCK_MIN_WRONG = 3  # wrong answers on one problem, none right, within RECENT
HINT_WINDOW = timedelta(days=7)
HINTS_MIN = 5  # hint requests within HINT_WINDOW

LEVEL_ORDER: dict[str, int] = {level: i for i, level in enumerate(bkt.LEVELS)}
# One-letter cue printed in every heatmap cell, so the level never relies on colour alone.
LEVEL_CUES: dict[str, str] = {
    Level.NOT_STARTED: "–",
    Level.ATTEMPTED: "A",
    Level.FAMILIAR: "F",
    Level.PROFICIENT: "P",
    Level.MASTERED: "M",
}
LEVEL_LABELS = {level.value: str(level.label) for level in Level}  # Level(value).label per cell added up
# The flag queue puts a child in distress first, then what the guards caught, then feedback.
FLAG_PRIORITY = (
    Flag.Kind.DISTRESS,
    Flag.Kind.MODERATION,
    Flag.Kind.ANSWER_LEAK,
    Flag.Kind.THUMBS_DOWN,
)


# --- the class and its scope -----------------------------------------------------------------


def class_students(classroom: Classroom) -> QuerySet[User]:
    """The class's current students, in roster order."""
    return User.objects.in_classroom(classroom).order_by(
        "last_name", "first_name", "username", "pk"
    )


def _student_ids(classroom: Classroom) -> QuerySet:
    """A subquery (not a list): the queries stay the same size whatever the class size."""
    return User.objects.in_classroom(classroom).values("pk")


def class_attempts(classroom: Classroom) -> QuerySet[Attempt]:
    """Attempts of the class's current students on the class's course."""
    if classroom.course_id is None:
        return Attempt.objects.none()
    return Attempt.objects.filter(
        student__in=_student_ids(classroom), problem__course_id=classroom.course_id
    )


def class_sessions(classroom: Classroom) -> QuerySet[TutoringSession]:
    """Tutoring sessions of the class's current students on the class's course."""
    if classroom.course_id is None:
        return TutoringSession.objects.none()
    return TutoringSession.objects.filter(
        student__in=_student_ids(classroom), problem__course_id=classroom.course_id
    )


def class_flags(classroom: Classroom) -> QuerySet[Flag]:
    """Flags on the class's conversations: distress first, then moderation, leaks, thumbs-down;
    newest first within a kind."""
    if classroom.course_id is None:
        return Flag.objects.none()
    priority = Case(
        *(When(kind=kind, then=Value(i)) for i, kind in enumerate(FLAG_PRIORITY)),
        default=Value(len(FLAG_PRIORITY)),
        output_field=IntegerField(),
    )
    return (
        Flag.objects.filter(
            session__student__in=_student_ids(classroom),
            session__problem__course_id=classroom.course_id,
        )
        .select_related(
            "session__student", "session__problem", "message", "resolved_by"
        )
        .annotate(priority=priority)
        .order_by("priority", "-created_at", "-pk")
    )


def open_flags_preview(classroom: Classroom, n: int) -> list[Flag]:
    """The first ``n`` open flags of the queue, without the joins only a resolved flag needs (the
    query's planning time was most of its cost)."""
    return list(
        class_flags(classroom)
        .filter(resolved_at__isnull=True)
        .select_related(None)
        .select_related("session__student", "session__problem")[:n]
    )


def conversations(classroom: Classroom) -> QuerySet[TutoringSession]:
    """The class's sessions, newest first, with their message and flag counts (one query)."""
    return (
        class_sessions(classroom)
        .select_related("student", "problem__skill")
        .annotate(
            n_messages=Count("messages", distinct=True),
            n_flags=Count("flags", distinct=True),
            n_open_flags=Count(
                "flags", filter=Q(flags__resolved_at__isnull=True), distinct=True
            ),
        )
        .order_by("-started_at", "-pk")
    )


def get_class_student(classroom: Classroom, student_id: int) -> User:
    """A current student of this (already permission-checked) class, or NotFound."""
    try:
        return User.objects.in_classroom(classroom).get(
            pk=student_id, role=User.Role.STUDENT
        )
    except User.DoesNotExist:
        raise NotFound("That student is not in this class.") from None


def get_class_session(
    classroom: Classroom, session_id: int, *, student: User | None = None
) -> TutoringSession:
    sessions = class_sessions(classroom).select_related("problem__skill", "student")
    if student is not None:
        sessions = sessions.filter(student=student)
    try:
        return sessions.get(pk=session_id)
    except TutoringSession.DoesNotExist:
        raise NotFound("No such conversation in this class.") from None


def get_class_flag(classroom: Classroom, flag_id: int) -> Flag:
    try:
        return class_flags(classroom).get(pk=flag_id)
    except Flag.DoesNotExist:
        raise NotFound("No such flag in this class.") from None


@dataclass(frozen=True)
class ClassView:
    """A class, its students, and the skills shown (its course's, narrowed to one unit or not)."""

    classroom: Classroom
    students: list[User]
    units: list[Unit]
    skills: list[Skill]
    all_skills: list[Skill]
    unit: Unit | None
    abbreviations: dict[int, str]
    now: datetime

    @property
    def skill_ids(self) -> list[int]:
        return [s.pk for s in self.skills]


def load_class(
    classroom: Classroom, *, unit: str = "", now: datetime | None = None
) -> ClassView:
    """Two queries: the students and the course's active skills (with their units).

    Skills are abbreviated by position, "2.3" for the third skill of the second unit, the same
    whatever unit is shown. ``unit`` is a unit code; an unknown one is NotFound.
    """
    from curriculum.models import Skill

    students = list(class_students(classroom))
    all_skills: list[Skill] = []
    if classroom.course_id is not None:
        all_skills = list(
            Skill.objects.active()
            .filter(course_id=classroom.course_id, unit__retired_at__isnull=True)
            .select_related("unit")
            .order_by("unit__position", "unit_id", "position", "pk")
        )
    units = list({s.unit_id: s.unit for s in all_skills}.values())
    unit_number = {u.pk: i for i, u in enumerate(units, start=1)}
    abbreviations: dict[int, str] = {}
    per_unit: dict[int, int] = defaultdict(int)
    for skill in all_skills:
        per_unit[skill.unit_id] += 1
        abbreviations[skill.pk] = (
            f"{unit_number[skill.unit_id]}.{per_unit[skill.unit_id]}"
        )
    chosen = None
    if unit:
        chosen = next((u for u in units if u.code == unit), None)
        if chosen is None:
            raise NotFound(
                f"This class's course has no unit {unit!r}.", code="unknown_unit"
            )
    skills = [s for s in all_skills if chosen is None or s.unit_id == chosen.pk]
    return ClassView(
        classroom=classroom, students=students, units=units, skills=skills, all_skills=all_skills, unit=chosen,
        abbreviations=abbreviations, now=now or timezone.now(),
    )  # fmt: skip


# What a heatmap cell reads; the CSV export reads every column. Each timestamp costs a parse per
# row, which at 40 x 30 was half the read's time.
CELL_FIELDS = ("student_id", "skill_id", "level", "p_known", "n_scored", "next_review_at")
EXPORT_FIELDS = (*CELL_FIELDS, "n_correct", "mastered_at", "last_practiced_at")


def _masteries(
    view: ClassView, students: list[User] | None = None, fields: tuple[str, ...] = CELL_FIELDS
) -> list[Mastery]:
    """One query: the mastery rows of the shown skills, for the class (or a page of it)."""
    if not view.skills:
        return []
    rows = Mastery.objects.filter(skill_id__in=view.skill_ids)
    if students is None:
        rows = rows.filter(student__in=_student_ids(view.classroom))
    else:
        rows = rows.filter(student_id__in=[s.pk for s in students])
    # Named rows rather than model instances: 1,200 of them at 40 x 30 (Cell reads attributes only).
    return list(rows.values_list(*fields, named=True))


# --- the heatmap ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    skill: Skill
    mastery: Mastery | None
    now: datetime

    @property
    def level(self) -> str:
        return self.mastery.level if self.mastery else Level.NOT_STARTED

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS[self.level]

    @property
    def p_known(self) -> float | None:
        return self.mastery.p_known if self.mastery else None

    @property
    def percent(self) -> int | None:
        return round(self.mastery.p_known * 100) if self.mastery else None

    @property
    def n_scored(self) -> int:
        return self.mastery.n_scored if self.mastery else 0

    @cached_property  # read three times per heatmap cell
    def review_overdue(self) -> bool:
        m = self.mastery
        return bool(
            m
            and m.level == Level.MASTERED
            and m.next_review_at
            and m.next_review_at <= self.now
        )

    @property
    def cue(self) -> str:
        return LEVEL_CUES[self.level] + ("!" if self.review_overdue else "")  # a Level is its str value

    @property
    def description(self) -> str:
        """What the cell says in words: for screen readers and the tooltip."""
        if self.mastery is None:
            return "Not started"
        text = f"{self.level_label}, {self.percent}% after {self.n_scored} scored attempt{'s' * (self.n_scored != 1)}"
        return text + (", review overdue" if self.review_overdue else "")

    @property
    def sort_key(self) -> tuple[int, float]:
        return (LEVEL_ORDER[self.level], self.p_known or 0.0)


@dataclass(frozen=True)
class HeatmapRow:
    student: User
    cells: list[Cell]

    @property
    def n_mastered(self) -> int:
        return sum(1 for c in self.cells if c.level == Level.MASTERED)

    @property
    def progress(self) -> float:
        """Mean P(known) over the shown skills, a skill not started counting as 0."""
        return (
            sum(c.p_known or 0.0 for c in self.cells) / len(self.cells)
            if self.cells
            else 0.0
        )


def student_rows(
    view: ClassView,
    students: list[User] | None = None,
    *,
    skills: list[Skill] | None = None,
) -> list[HeatmapRow]:
    """One row per student (all of the class, or a page of it) over the shown skills: one query."""
    by_student: dict[int, dict[int, Mastery]] = defaultdict(dict)
    for m in _masteries(view, students):
        by_student[m.student_id][m.skill_id] = m
    skills = view.skills if skills is None else skills
    return [
        HeatmapRow(
            student,
            [Cell(s, by_student[student.pk].get(s.pk), view.now) for s in skills],
        )
        for student in (view.students if students is None else students)
    ]


@dataclass(frozen=True)
class Heatmap:
    skills: list[Skill]
    rows: list[HeatmapRow]
    sort: str
    sort_skill: Skill | None
    descending: bool
    columns: str
    summary: dict[int, SkillSummary]


def heatmap(
    view: ClassView,
    summary: ClassSummary,
    *,
    sort: str = "name",
    skill: str = "",
    descending: bool = False,
    columns: str = "course",
) -> Heatmap:
    """Students x shown skills. One query (the mastery rows).

    Rows by ``sort``: name; mastery (mean P(known), weakest first); skill (the level in the skill
    coded ``skill``, weakest first); ``descending`` reverses. Columns in course order, or
    least-mastered first (the share of the class that has mastered each skill).
    An unknown sort or column order falls back to the default.
    """
    skills = list(view.skills)
    if columns == "least-mastered":
        skills.sort(
            key=lambda s: (
                summary.skills[s.pk].share_mastered,
                summary.skills[s.pk].mean_p_known or 0.0,
            )
        )
    else:
        columns = "course"
    rows = student_rows(view, skills=skills)
    sort_skill = (
        next((s for s in view.skills if s.code == skill), None)
        if sort == "skill"
        else None
    )
    if sort == "mastery":
        rows.sort(key=lambda r: (r.progress, r.n_mastered), reverse=descending)
    elif sort == "skill" and sort_skill is not None:
        index = skills.index(sort_skill)
        rows.sort(key=lambda r: r.cells[index].sort_key, reverse=descending)
    else:
        sort = "name"
        if descending:
            rows.reverse()
    return Heatmap(skills, rows, sort, sort_skill, descending, columns, summary.skills)


# --- the class summary -------------------------------------------------------------------------


@dataclass(frozen=True)
class SkillSummary:
    skill: Skill
    abbreviation: str
    n_students: int
    n_started: int = 0
    n_mastered: int = 0
    n_overdue: int = 0
    mean_p_known: float | None = None  # over the students who started it

    @property
    def share_mastered(self) -> float:
        return self.n_mastered / self.n_students if self.n_students else 0.0

    @property
    def percent_mastered(self) -> int:
        return round(self.share_mastered * 100)


@dataclass(frozen=True)
class ClassSummary:
    n_students: int
    skills: dict[int, SkillSummary]  # by skill id, in course order
    n_open_flags: int
    n_active_recently: int  # students who practised within HINT_WINDOW

    @property
    def skill_summaries(self) -> list[SkillSummary]:
        return list(self.skills.values())

    @property
    def n_skills(self) -> int:
        return len(self.skills)

    @property
    def n_cells(self) -> int:
        return self.n_students * self.n_skills

    @property
    def n_mastered(self) -> int:
        return sum(s.n_mastered for s in self.skills.values())

    @property
    def n_overdue(self) -> int:
        return sum(s.n_overdue for s in self.skills.values())

    @property
    def share_mastered(self) -> float:
        return self.n_mastered / self.n_cells if self.n_cells else 0.0

    @property
    def percent_mastered(self) -> int:
        return round(self.share_mastered * 100)


def class_summary(view: ClassView) -> ClassSummary:
    """Share mastered and reviews overdue per shown skill, open flags, recent activity: three
    aggregate queries."""
    mastered = Q(level=Level.MASTERED)
    overdue = Q(level=Level.MASTERED, next_review_at__lte=view.now)
    per_skill: dict[int, Mapping[str, Any]] = {}
    if view.skills:
        per_skill = {
            row["skill_id"]: row
            for row in Mastery.objects.filter(
                student__in=_student_ids(view.classroom), skill_id__in=view.skill_ids
            )
            .values("skill_id")
            .annotate(
                started=Count("id", filter=~Q(level=Level.NOT_STARTED)),
                mastered=Count("id", filter=mastered),
                overdue=Count("id", filter=overdue),
                mean=Avg("p_known", filter=~Q(level=Level.NOT_STARTED)),
            )
        }
    n = len(view.students)
    skills = {}
    for skill in view.skills:
        row = per_skill.get(skill.pk, {})
        skills[skill.pk] = SkillSummary(
            skill=skill, abbreviation=view.abbreviations[skill.pk], n_students=n, n_started=row.get("started", 0),
            n_mastered=row.get("mastered", 0), n_overdue=row.get("overdue", 0), mean_p_known=row.get("mean"),
        )  # fmt: skip
    n_open = class_flags(view.classroom).filter(resolved_at__isnull=True).count()
    active = class_attempts(view.classroom).filter(
        created_at__gte=view.now - HINT_WINDOW
    )
    n_active = active.aggregate(n=Count("student_id", distinct=True))["n"]
    return ClassSummary(
        n_students=n, skills=skills, n_open_flags=n_open, n_active_recently=n_active
    )


# --- who needs help, and why ---------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    kind: str  # distress | stuck | hints | low_mastery
    text: str
    at: datetime | None = None
    session_id: int | None = None  # the conversation to open, when there is one

    LABELS = {
        "distress": "Distress",
        "stuck": "Stuck",
        "hints": "Many hints",
        "low_mastery": "Low mastery",
    }

    @property
    def label(self) -> str:
        return self.LABELS[self.kind]


REASON_ORDER = {kind: i for i, kind in enumerate(Reason.LABELS)}


@dataclass
class NeedsHelp:
    student: User
    reasons: list[Reason] = field(default_factory=list)

    @property
    def sort_key(self) -> tuple:
        return (min(REASON_ORDER[r.kind] for r in self.reasons), -len(self.reasons))


def needs_help(view: ClassView) -> list[NeedsHelp]:
    """Students with at least one reason, the most urgent first; four queries.

    Reasons: a distress flag that is open or recent; a problem answered wrong STUCK_MIN_WRONG
    times and never right within RECENT; HINTS_MIN hint requests within HINT_WINDOW; a skill with
    LOW_MASTERY_MIN_ATTEMPTS scored attempts and P(known) still under LOW_MASTERY_BELOW.
    """
    classroom, now = view.classroom, view.now
    reasons: dict[int, list[Reason]] = defaultdict(list)

    distress = (
        class_flags(classroom)
        .filter(kind=Flag.Kind.DISTRESS)
        .filter(Q(resolved_at__isnull=True) | Q(created_at__gte=now - RECENT))
        .order_by("-created_at")
        .values("session__student_id", "session_id", "created_at", "resolved_at")
    )
    for flag in distress:
        state = "still open" if flag["resolved_at"] is None else "resolved"
        at = timezone.localtime(flag["created_at"])
        when = f"{at:%b} {at.day}"
        reasons[flag["session__student_id"]].append(
            Reason(
                "distress",
                f"Distress flagged on {when} ({state})",
                flag["created_at"],
                flag["session_id"],
            )
        )

    stuck = (
        class_attempts(classroom)
        .filter(created_at__gte=now - RECENT)
        .values("student_id", "problem_id", "problem__code")
        .annotate(
            wrong=Count("id", filter=Q(correct=False)),
            right=Count("id", filter=Q(correct=True)),
            last=Max("created_at"),
            session=Max("session_id"),
        )
        .filter(wrong__gte=STUCK_MIN_WRONG, right=0)
        .order_by("-last")
    )
    for row in stuck:
        reasons[row["student_id"]].append(
            Reason(
                "stuck", f"Stuck on {row['problem__code']}: {row['wrong']} wrong answers, not solved yet",
                row["last"], row["session"],
            )
        )  # fmt: skip

    hints = (
        Message.objects.filter(
            session__in=class_sessions(classroom),
            kind=Message.Kind.HINT_REQUEST,
            created_at__gte=now - HINT_WINDOW,
        )
        .values("session__student_id")
        .annotate(
            n=Count("id"),
            problems=Count("session__problem_id", distinct=True),
            last=Max("created_at"),
        )
        .filter(n__gte=HINTS_MIN)
    )
    for asked in hints:
        problems = f"{asked['problems']} problem{'s' * (asked['problems'] != 1)}"
        reasons[asked["session__student_id"]].append(
            Reason(
                "hints",
                f"Asked for {asked['n']} hints on {problems} in the last {HINT_WINDOW.days} days",
                asked["last"],
            )
        )

    if view.all_skills:
        # Only each student's two weakest skills come back, with how many are weak and when the
        # latest was practised (a weak class has hundreds of such rows, each with timestamps).
        low = (
            Mastery.objects.filter(
                student__in=_student_ids(classroom),
                skill_id__in=[s.pk for s in view.all_skills],
                n_scored__gte=LOW_MASTERY_MIN_ATTEMPTS,
                p_known__lt=LOW_MASTERY_BELOW,
            )
            .annotate(
                weakness=Window(RowNumber(), partition_by=F("student_id"), order_by=[F("p_known").asc(), F("skill_id").asc()]),
                n_weak=Window(Count("id"), partition_by=F("student_id")),
                last=Window(Max("last_practiced_at"), partition_by=F("student_id")),
            )
            .filter(weakness__lte=2)
            .order_by("student_id", "weakness")
            .values_list("student_id", "skill_id", "p_known", "n_scored", "n_weak", "last")
        )
        names = {s.pk: s.name for s in view.all_skills}
        weakest: dict[int, list[tuple]] = defaultdict(list)
        totals: dict[int, tuple[int, datetime | None]] = {}
        for student_id, skill_id, p_known, n_scored, n_weak, last in low:
            weakest[student_id].append((names[skill_id], p_known, n_scored))
            totals[student_id] = (n_weak, last)
        for student_id, skills in weakest.items():
            n_weak, last = totals[student_id]
            reasons[student_id].append(Reason("low_mastery", _low_mastery_text(skills, n_weak), last or now))

    students = {s.pk: s for s in view.students}
    listed = [
        NeedsHelp(students[pk], sorted(rs, key=lambda r: REASON_ORDER[r.kind]))
        for pk, rs in reasons.items()
        if pk in students  # joined since the roster was read: next time
    ]
    roster = {pk: i for i, pk in enumerate(students)}
    return sorted(listed, key=lambda h: (*h.sort_key, roster[h.student.pk]))


def _low_mastery_text(weakest: list[tuple], n_weak: int) -> str:
    """The weakest two skills (given weakest first), and how many more of the `n_weak`."""
    shown = "; ".join(
        f"{name}: {p:.0%} after {n} scored attempts" for name, p, n in weakest
    )
    more = n_weak - 2
    return shown + (f"; and {more} more skill{'s' * (more != 1)}" if more > 0 else "")


# --- one student ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SkillHistory:
    skill: Skill
    abbreviation: str
    mastery: Mastery | None
    points: list[float]  # P(known) before the first change, then after each

    @property
    def n_changes(self) -> int:
        return max(len(self.points) - 1, 0)


@dataclass(frozen=True)
class StudentDetail:
    student: User
    skills: list[SkillHistory]
    attempts: list[Attempt]
    n_attempts: int
    sessions: list[TutoringSession]
    now: datetime

    @property
    def n_mastered(self) -> int:
        return sum(
            1 for s in self.skills if s.mastery and s.mastery.level == Level.MASTERED
        )

    @property
    def n_overdue(self) -> int:
        return sum(
            1 for s in self.skills if Cell(s.skill, s.mastery, self.now).review_overdue
        )


RECENT_ATTEMPTS = 30
RECENT_SESSIONS = 30


def student_detail(view: ClassView, student: User) -> StudentDetail:
    """Mastery of every course skill with its history, the latest attempts and conversations:
    five queries whatever the student's history."""
    masteries = {
        m.skill_id: m
        for m in Mastery.objects.filter(student=student, skill_id__in=view.skill_ids)
    }
    history: dict[int, list[MasteryChange]] = defaultdict(list)
    for change in MasteryChange.objects.filter(
        mastery__in=list(masteries.values())
    ).order_by("created_at", "pk"):
        history[change.mastery_id].append(change)
    skills = []
    for skill in view.skills:
        mastery = masteries.get(skill.pk)
        changes = history.get(mastery.pk, []) if mastery else []
        points = [changes[0].p_before, *(c.p_after for c in changes)] if changes else []
        skills.append(
            SkillHistory(skill, view.abbreviations[skill.pk], mastery, points)
        )
    attempts = class_attempts(view.classroom).filter(student=student)
    recent = list(
        attempts.select_related("problem__skill").order_by("-created_at", "-pk")[
            :RECENT_ATTEMPTS
        ]
    )
    sessions = list(
        conversations(view.classroom).filter(student=student)[:RECENT_SESSIONS]
    )
    return StudentDetail(student, skills, recent, attempts.count(), sessions, view.now)


def misconception_feedback(problem: Problem, code: str) -> str:
    """The authored feedback of a matched misconception (blank when the code is unknown)."""
    return next(
        (
            str(m.get("feedback", ""))
            for m in problem.misconceptions
            if m.get("code") == code
        ),
        "",
    )


def transcript(session: TutoringSession) -> list[Message]:
    """Every message of a conversation in order, with the release that wrote each tutor reply,
    the attempt an answer made, its flags and ratings: three queries."""
    return list(
        session.messages.select_related("release", "attempt")
        .prefetch_related(
            Prefetch(
                "flags", Flag.objects.select_related("resolved_by").order_by("pk")
            ),
            "ratings",
        )
        .order_by("created_at", "pk")
    )


# --- CSV exports -------------------------------------------------------------------------------

MASTERY_HEADER = [
    "student_id", "username", "student", "unit", "skill_code", "skill", "level", "p_known", "scored_attempts",
    "correct_attempts", "mastered_at", "last_practiced_at", "next_review_at", "review_overdue",
]  # fmt: skip
ATTEMPT_HEADER = [
    "attempt_id", "student_id", "username", "student", "created_at", "unit", "skill_code", "problem_code",
    "problem_version", "answer", "normalized", "correct", "scored", "hints_used", "misconception", "session_id",
]  # fmt: skip


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def mastery_rows(view: ClassView) -> Iterator[list]:
    """Header, then one row per student x shown skill (not started included): one query."""
    yield MASTERY_HEADER
    cells: dict[tuple[int, int], Mastery] = {
        (m.student_id, m.skill_id): m for m in _masteries(view, fields=EXPORT_FIELDS)
    }
    for student in view.students:
        for skill in view.skills:
            m = cells.get((student.pk, skill.pk))
            cell = Cell(skill, m, view.now)
            yield [
                student.pk, student.username, student.display_name, skill.unit.title, skill.code, skill.name,
                cell.level, f"{m.p_known:.4f}" if m else "", cell.n_scored, m.n_correct if m else 0,
                _iso(m.mastered_at if m else None), _iso(m.last_practiced_at if m else None),
                _iso(m.next_review_at if m else None), "yes" if cell.review_overdue else "no",
            ]  # fmt: skip


def attempt_rows(view: ClassView) -> Iterator[list]:
    """Header, then every attempt of the class on its course, oldest first: one query."""
    yield ATTEMPT_HEADER
    students = {s.pk: s for s in view.students}
    attempts = (
        class_attempts(view.classroom)
        .select_related("problem__skill__unit")
        .order_by("created_at", "pk")
        .iterator(chunk_size=2000)
    )
    for a in attempts:
        student = students.get(a.student_id)
        if student is None:  # left the class between the two queries
            continue
        skill = a.problem.skill
        yield [
            a.pk, student.pk, student.username, student.display_name, _iso(a.created_at), skill.unit.title,
            skill.code, a.problem.code, a.problem_version, a.answer, a.normalized, "yes" if a.correct else "no",
            "yes" if a.scored else "no", a.hints_used, a.misconception_code, a.session_id or "",
        ]  # fmt: skip


def csv_safe(value: object) -> object:
    """Defuse spreadsheet formulas in text a student typed ("=HYPERLINK(...)"); numbers stay."""
    if not isinstance(value, str) or not value or value[0] not in "=+-@\t\r":
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value
