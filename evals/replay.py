"""The "replay" provider backend: answers with a recorded response instead of calling a model.

A replay release (backend ``replay``) names its recordings in ``params["release_name"]``
(defaults to the model id); the response for a turn is the ``ReplayResponse`` recorded for
(that name, the eval case id in ``TutorContext.extra["case_id"]``). This lets an eval run on real
model output offline: MRBench's tutors (``evals.mrbench``) or any transcripts you import.

No recording for a case is a non-retryable client error, recorded on that case's result.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async

from tutor.providers import (
    ProviderConfig,
    ProviderError,
    TutorRequest,
    Usage,
    register_backend,
)

BACKEND = "replay"


def recording_name(config: ProviderConfig) -> str:
    return str(config.params.get("release_name") or config.model)


def _lookup(release_name: str, case_id: str) -> str | None:
    from evals.models import ReplayResponse

    return ReplayResponse.objects.filter(release_name=release_name, case_id=case_id).values_list("text", flat=True).first()


class ReplayBackend:
    async def stream(self, config: ProviderConfig, request: TutorRequest, usage: Usage) -> AsyncIterator[str]:
        extra = getattr(request.context, "extra", None) or {}
        case_id = extra.get("case_id")
        if not case_id:
            raise ProviderError("client", "the replay backend needs an eval case id in the context", retryable=False)
        name = recording_name(config)
        text = await sync_to_async(_lookup)(name, str(case_id))
        if text is None:
            raise ProviderError("client", f"no recorded response of {name} for case {case_id}", retryable=False)
        usage.model = config.model
        usage.tokens_in = sum(len(m.content) for m in request.messages) // 4
        usage.tokens_out = max(1, len(text) // 4)
        usage.cost_usd = 0.0
        usage.finish_reason = "stop"
        yield text


BACKEND_INSTANCE = ReplayBackend()
register_backend(BACKEND, BACKEND_INSTANCE)
