"""Admin's "Run selected tasks" never reports a run that did not happen."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django_celery_beat.models import PeriodicTask

pytestmark = pytest.mark.django_db

URL = "/admin/django_celery_beat/periodictask/"


@pytest.fixture
def staff(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "b@example.com", "pw"))
    return client


def run_action(client, task: PeriodicTask) -> list[str]:
    response = client.post(URL, {"action": "run_tasks", "_selected_action": [task.pk]}, follow=True)
    assert response.status_code == 200
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_without_a_worker_the_task_runs_here_and_its_result_is_reported(staff):
    task = PeriodicTask.objects.get(name="recommendations: refresh_trending")
    messages = run_action(staff, task)
    assert len(messages) == 1
    # The task's own return value: only a run that happened can report it.
    assert messages[0].startswith(f"{task.name} ran in this process: {{'trending': ")


def test_with_a_worker_the_message_says_queued_and_warns_when_none_answers(staff, monkeypatch):
    from shop import admin as shop_admin
    from shop.celery import app

    sent = []
    monkeypatch.setattr(shop_admin, "tasks_run_in_a_worker", lambda: True)
    monkeypatch.setattr(
        app.tasks["recommendations.cleanup_events"],
        "apply_async",
        lambda **kwargs: sent.append(kwargs),
    )
    monkeypatch.setattr(app.control, "ping", lambda **kwargs: [])
    task = PeriodicTask.objects.get(name="recommendations: cleanup_events")
    messages = run_action(staff, task)
    assert len(sent) == 1
    assert messages == [
        "1 task queued for the Celery worker, but no worker answered: they run once one "
        "starts (make demo starts one)."
    ]
    monkeypatch.setattr(app.control, "ping", lambda **kwargs: [{"celery@demo": {"ok": "pong"}}])
    assert run_action(staff, task) == [
        "1 task queued for the Celery worker; results appear in the worker's log."
    ]
