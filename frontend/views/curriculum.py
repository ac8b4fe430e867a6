"""The curriculum browser: courses, a course's units and prerequisite graph, a skill's lesson.

Problems with their answers and worked solutions are shown to teachers and admins only.
"""

import textwrap
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from curriculum import queries
from curriculum.models import Skill

NODE_WIDTH = 140
NODE_HEIGHT = 58
GAP_X = 14
GAP_Y = 52
MARGIN = 12
LABEL_CHARS = 19
LINE_HEIGHT = 15
MAX_COLUMNS = (
    6  # 6 nodes fit the page's 64rem column; wider layers wrap onto another row
)
SWEEPS = 4  # barycentre passes (down then up) to reduce edge crossings
TONES = 8  # unit colours: .tone-0 ... .tone-7 in curriculum.css


@dataclass
class Node:
    skill: Skill
    depth: int
    x: int = 0
    y: int = 0
    tone: int = 0
    lines: tuple[str, ...] = ()

    @property
    def cx(self) -> int:
        return self.x + NODE_WIDTH // 2

    @property
    def labels(self) -> list[tuple[str, int]]:
        """Each label line with its baseline, the block centred in the box."""
        top = (
            self.y
            + NODE_HEIGHT // 2
            - (len(self.lines) * LINE_HEIGHT) // 2
            + LINE_HEIGHT
            - 4
        )
        return [
            (line, top + index * LINE_HEIGHT) for index, line in enumerate(self.lines)
        ]


@dataclass
class Edge:
    source: Node  # the prerequisite
    target: Node  # the skill that needs it

    @property
    def path(self) -> str:
        x1, y1 = self.source.cx, self.source.y + NODE_HEIGHT
        x2, y2 = self.target.cx, self.target.y - 4
        bend = min((y2 - y1) // 2, GAP_Y)
        return f"M{x1},{y1} C{x1},{y1 + bend} {x2},{y2 - bend} {x2},{y2}"


@dataclass
class Graph:
    nodes: list[Node]
    edges: list[Edge]
    layers: list[list[Node]]
    width: int
    height: int
    node_width: int = NODE_WIDTH
    node_height: int = NODE_HEIGHT


def _depths(skills: list[Skill]) -> dict[int, int]:
    """Longest chain of prerequisites below each skill (0 for skills that need nothing)."""
    prerequisites = {
        skill.id: [p.id for p in skill.prerequisites.all()] for skill in skills
    }
    depths: dict[int, int] = {}

    def depth(skill_id: int, visiting: frozenset[int]) -> int:
        if skill_id in depths:
            return depths[skill_id]
        parents = [
            p
            for p in prerequisites.get(skill_id, [])
            if p in prerequisites and p not in visiting
        ]
        value = 1 + max((depth(p, visiting | {skill_id}) for p in parents), default=-1)
        depths[skill_id] = value
        return value

    for skill in skills:
        depth(skill.id, frozenset())
    return depths


def unit_tones(skills: list[Skill]) -> dict[int, int]:
    """A colour per unit, in course order."""
    units = dict.fromkeys(
        skill.unit_id for skill in sorted(skills, key=lambda s: s.unit.position)
    )
    return {unit_id: index % TONES for index, unit_id in enumerate(units)}


def _reduce_crossings(layers: list[list[Node]], edges: list[tuple[int, int]]) -> None:
    """Reorder each layer by the mean position of its neighbours in the layer above (then below)."""
    parents: dict[int, list[int]] = {}
    children: dict[int, list[int]] = {}
    for source, target in edges:
        parents.setdefault(target, []).append(source)
        children.setdefault(source, []).append(target)

    def position() -> dict[int, float]:
        return {
            n.skill.id: i / max(len(layer) - 1, 1)
            for layer in layers
            for i, n in enumerate(layer)
        }

    def mean(ids: list[int], where: dict[int, float], default: float) -> float:
        return sum(where[i] for i in ids) / len(ids) if ids else default

    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        neighbours = parents if downward else children
        for layer in layers[1:] if downward else reversed(layers[:-1]):
            where = position()
            layer.sort(
                key=lambda n: mean(
                    neighbours.get(n.skill.id, []), where, where[n.skill.id]
                )
            )


def layout_graph(skills: list[Skill]) -> Graph:
    """Layered drawing of the prerequisite DAG: a row per depth, each skill below what it needs."""
    depths = _depths(skills)
    tones = unit_tones(skills)
    nodes = {
        skill.id: Node(
            skill,
            depths[skill.id],
            tone=tones[skill.unit_id],
            lines=tuple(
                textwrap.wrap(skill.name, LABEL_CHARS, max_lines=3, placeholder="…")
            )
            or (skill.code,),
        )
        for skill in skills
    }
    pairs = [
        (p.id, skill.id)
        for skill in skills
        for p in skill.prerequisites.all()
        if p.id in nodes
    ]
    layers: list[list[Node]] = [[] for _ in range(max(depths.values(), default=-1) + 1)]
    for node in nodes.values():
        layers[node.depth].append(node)
    _reduce_crossings(layers, pairs)
    columns = min(max((len(layer) for layer in layers), default=0), MAX_COLUMNS)
    width = max(
        columns * (NODE_WIDTH + GAP_X) - GAP_X + 2 * MARGIN, 2 * MARGIN + NODE_WIDTH
    )
    row = 0
    for layer in layers:
        for start in range(0, len(layer), MAX_COLUMNS):
            chunk = layer[start : start + MAX_COLUMNS]
            offset = (width - (len(chunk) * (NODE_WIDTH + GAP_X) - GAP_X)) // 2
            for column, node in enumerate(chunk):
                node.x = offset + column * (NODE_WIDTH + GAP_X)
                node.y = MARGIN + row * (NODE_HEIGHT + GAP_Y)
            row += 1
    edges = [Edge(nodes[source], nodes[target]) for source, target in pairs]
    height = MARGIN * 2 + row * (NODE_HEIGHT + GAP_Y) - GAP_Y if row else 0
    ordered = [node for layer in layers for node in layer]
    return Graph(ordered, edges, layers, width, height)


@login_required
def course_list(request: HttpRequest) -> HttpResponse:
    courses = queries.courses_visible_to(request.user)
    return render(request, "frontend/curriculum/course_list.html", {"courses": courses})


@login_required
def course_detail(request: HttpRequest, course_code: str) -> HttpResponse:
    course = queries.get_course_for_user(request.user, course_code)
    skills = list(queries.skills_in_course(course))
    units = list(queries.units_in_course(course))
    by_id = {skill.id: skill for skill in skills}
    tones = unit_tones(skills)
    for unit in units:
        unit.skill_list = [
            by_id[skill.id] for skill in unit.skills.all() if skill.id in by_id
        ]
        unit.tone = tones.get(unit.id, 0)
    context = {
        "course": course,
        "units": units,
        "graph": layout_graph(skills),
        "n_skills": len(skills),
    }
    return render(request, "frontend/curriculum/course_detail.html", context)


@login_required
def skill_detail(
    request: HttpRequest, course_code: str, skill_code: str
) -> HttpResponse:
    course = queries.get_course_for_user(request.user, course_code)
    skill = queries.get_skill_for_user(request.user, course, skill_code)
    show_answers = queries.can_see_answers(request.user)
    context = {
        "course": course,
        "skill": skill,
        "prerequisites": list(skill.prerequisites.all()),
        "dependents": list(
            skill.dependents.active().order_by("unit__position", "position")
        ),
        "show_answers": show_answers,
        "problems": list(queries.problems_of_skill(skill)) if show_answers else [],
        "n_problems": queries.problems_of_skill(skill).count(),
    }
    return render(request, "frontend/curriculum/skill_detail.html", context)
