"""Under ASGI the middleware chain runs in one thread per request, and static files are served."""

import asyncio

import pytest
from asgiref.sync import SyncToAsync
from django.test import AsyncClient


@pytest.fixture
def thread_hops(monkeypatch):
    hops = []
    original = SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted)
    return hops


def test_a_request_to_a_sync_view_changes_threads_once_not_per_middleware(db, thread_hops):
    response = asyncio.run(AsyncClient().get("/login/"))

    assert response.status_code == 200
    # An async-mode chain calls each middleware's process_request/process_response hooks through
    # sync_to_async, a hop each; the sync chain is entered once.
    assert not [hop for hop in thread_hops if "process_request" in hop or "process_response" in hop]
    assert len([hop for hop in thread_hops if hop == "convert_exception_to_response.<locals>.inner"]) == 1


def test_static_files_are_still_served(db):
    response = asyncio.run(AsyncClient().get("/static/css/app.css"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
