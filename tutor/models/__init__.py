from tutor.models.mastery import Level, Mastery, MasteryChange
from tutor.models.people import (
    Classroom,
    Enrollment,
    Organisation,
    User,
    WorkerHeartbeat,
)
from tutor.models.releases import Release, ReleaseEvent, Rollout
from tutor.models.sessions import Attempt, Flag, Message, Rating, TutoringSession

__all__ = [
    "Attempt", "Classroom", "Enrollment", "Flag", "Level", "Mastery", "MasteryChange", "Message",
    "Organisation", "Rating", "Release", "ReleaseEvent", "Rollout", "TutoringSession", "User", "WorkerHeartbeat",
]  # fmt: skip
