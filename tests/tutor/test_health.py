import pytest
from django.test import override_settings

from tutor.tasks import record_worker_heartbeat


def test_it_reports_database_and_eager_broker(client, db, settings):
    settings.CELERY_BROKER_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "eager", "worker_last_seen": None, "status": "ok"}


def test_it_reports_the_last_worker_heartbeat(client, db, settings):
    settings.CELERY_BROKER_URL = ""
    record_worker_heartbeat.delay("worker-a")
    assert client.get("/healthz").json()["worker_last_seen"] is not None


@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_it_returns_503_when_the_broker_is_unreachable(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("error")


@pytest.mark.django_db
def test_it_serves_the_openapi_schema_and_docs(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/classes/join/" in schema.content
    assert client.get("/api/docs/").status_code == 200
