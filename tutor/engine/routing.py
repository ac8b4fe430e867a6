"""Which release answers a student: production, or the canary arm of an active rollout."""

import os

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Subquery

from tutor.engine.prompts import DEFAULT_PROMPT_VERSION
from tutor.models import Release, Rollout
from tutor.providers import ProviderConfig

OFFLINE_RELEASE = "offline-v1"


def offline_release_fields() -> dict:
    return {
        "name": OFFLINE_RELEASE,
        "backend": "offline",
        "model": "offline-tutor-v1",
        "prompt_version": DEFAULT_PROMPT_VERSION,
        "params": {"policy": "v1", "chunk_delay_s": 0.02},
        "description": "The built-in offline curriculum tutor.",
    }


def default_release_fields() -> dict:
    """The release the environment asks for when none is in production yet."""
    if not settings.OPENAI_API_KEY:
        return offline_release_fields()
    return {
        "name": f"openai-{settings.TUTOR_MODEL}".replace(".", "-").replace(":", "-").lower()[:80],
        "backend": "openai",
        "model": settings.TUTOR_MODEL,
        "base_url": settings.OPENAI_BASE_URL,
        "api_key_env": "OPENAI_API_KEY",
        "prompt_version": DEFAULT_PROMPT_VERSION,
        "params": {"temperature": 0.3, "max_tokens": 300},
        "description": "Created from OPENAI_API_KEY / TUTOR_MODEL.",
    }


def production_release() -> Release:
    release = Release.objects.production()
    if release is not None:
        return release
    fields = default_release_fields()
    name = fields.pop("name")
    try:
        with transaction.atomic():
            release, _ = Release.objects.get_or_create(name=name, defaults=fields)
            Release.objects.filter(pk=release.pk).update(state=Release.State.PRODUCTION)
    except IntegrityError:
        pass  # another process promoted one first
    production = Release.objects.production()
    assert production is not None
    return production


def release_for_student(student_id: int) -> tuple[Release, Rollout | None]:
    """Production, or the candidate for a student in an active canary's arm. One query on every
    turn (production with the active rollout's id), a second only while a canary runs."""
    production = (
        Release.objects.filter(state=Release.State.PRODUCTION)
        .annotate(active_rollout_id=Subquery(Rollout.objects.active().values("pk")[:1]))
        .first()
    )
    if production is None or production.active_rollout_id is not None:  # type: ignore[attr-defined]
        rollout = Rollout.objects.active().select_related("candidate").first()
        if rollout is not None and rollout.assigns_candidate(student_id):
            return rollout.candidate, rollout
    return production or production_release(), None


def fallback_release() -> Release:
    """The offline tutor: answers when a model provider cannot."""
    fields = offline_release_fields()
    name = fields.pop("name")
    release, _ = Release.objects.get_or_create(name=name, defaults={**fields, "state": Release.State.RETIRED})
    return release


def provider_config(release: Release) -> ProviderConfig:
    api_key = os.environ.get(release.api_key_env) if release.api_key_env else None
    if release.backend == "openai" and release.api_key_env == "OPENAI_API_KEY":
        api_key = api_key or settings.OPENAI_API_KEY or None
    return ProviderConfig(
        backend=release.backend,
        model=release.model,
        base_url=release.base_url or (settings.OPENAI_BASE_URL if release.backend == "openai" else None) or None,
        api_key=api_key,
        params=release.params,
        timeout_s=settings.TUTOR_PROVIDER_TIMEOUT,
    )
