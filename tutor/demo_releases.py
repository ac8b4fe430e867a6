"""Demo releases: production is the offline tutor, plus two candidates for the eval gate to judge."""

from collections.abc import Callable

from tutor.engine.prompts import DEFAULT_PROMPT_VERSION
from tutor.engine.routing import production_release
from tutor.models import Classroom, Release, ReleaseEvent, User

CANDIDATES = [
    ("offline-v2", "offline-tutor-v2", {"policy": "v2", "chunk_delay_s": 0.02},
     "Improved offline policy: ends every turn on a question and points at the student's own answer."),
    ("offline-leaky", "offline-tutor-leaky", {"policy": "leaky", "chunk_delay_s": 0.02},
     "A deliberately careless policy that gives answers away: the gate must stop it."),
]  # fmt: skip


def seed_releases(classroom: Classroom, log: Callable[[str], None]) -> None:
    admin = User.objects.filter(organisation=classroom.organisation, role=User.Role.ADMIN).first()
    production = production_release()
    created = []
    for name, model, params, description in CANDIDATES:
        release, new = Release.objects.get_or_create(
            name=name,
            defaults={"backend": "offline", "model": model, "prompt_version": DEFAULT_PROMPT_VERSION,
                      "params": params, "description": description, "state": Release.State.CANDIDATE,
                      "created_by": admin},
        )  # fmt: skip
        if new:
            ReleaseEvent.objects.create(release=release, action=ReleaseEvent.Action.REGISTERED, actor=admin,
                                        evidence={"config_hash": release.config_hash})  # fmt: skip
            created.append(name)
    log(f"releases: production {production.name}; candidates " + ", ".join(name for name, *_ in CANDIDATES)
        + (f" (created {', '.join(created)})" if created else ""))  # fmt: skip
