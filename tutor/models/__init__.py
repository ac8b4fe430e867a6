from tutor.models.people import Classroom, Enrollment, Organisation, User, WorkerHeartbeat

__all__ = ["Classroom", "Enrollment", "Organisation", "User", "WorkerHeartbeat"]
