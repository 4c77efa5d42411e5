"""Model versions in admin: read-only list with a metric chart, and rollback as an action."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission, User

from recommendations.models import ModelVersion
from recommendations.registry import active_version
from recommendations.training import train

from .helpers import make_events, new_traffic, reject_next_for_you

pytestmark = pytest.mark.django_db
URL = "/admin/recommendations/modelversion/"


@pytest.fixture
def versions(settings, django_capture_on_commit_callbacks):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "PROMOTION_TOLERANCE": 1.0}
    make_events(seed=1)
    with django_capture_on_commit_callbacks(execute=True):
        train("full")
    first = active_version("for_you")
    make_events(seed=2, first_user=5000)
    with django_capture_on_commit_callbacks(execute=True):
        train("full")
    return first, active_version("for_you")


def test_the_list_shows_versions_and_a_chart_of_their_metric(admin_client, versions):
    first, second = versions
    response = admin_client.get(URL)
    assert response.status_code == 200
    chart = response.context["metric_chart"]
    names = [series.name for series in chart.series]
    assert names == ["For you", "Similar items", "Bought together"]
    for_you = chart.series[0]
    assert len(for_you.points) == 2 and for_you.points[-1].active
    assert first.version in for_you.points[0].label
    content = response.content.decode()
    assert "<svg" in content and "Validation NDCG@10 per version" in content
    assert "<script" not in content.split("<figure")[1].split("</figure>")[0]
    assert f"{second.metric:.4f}" in content


def test_versions_are_read_only(admin_client, versions):
    first, _ = versions
    assert admin_client.get(f"{URL}add/").status_code == 403
    response = admin_client.post(f"{URL}{first.pk}/change/", {"status": "active"})
    assert response.status_code == 403
    first.refresh_from_db()
    assert first.status == "retired"
    assert admin_client.get(f"{URL}{first.pk}/change/").status_code == 200


def roll_back(client, *ids):
    return client.post(
        URL,
        {"action": "roll_back_to_this_version", "_selected_action": [str(i) for i in ids]},
        follow=True,
    )


def test_staff_roll_back_to_a_selected_version(
    admin_client, versions, django_capture_on_commit_callbacks
):
    first, _second = versions
    with django_capture_on_commit_callbacks(execute=True):
        response = roll_back(admin_client, first.pk)
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [f"For you now uses {first.version}; its stored lists are being recomputed."]
    assert active_version("for_you").pk == first.pk
    entry = LogEntry.objects.get(object_id=str(first.pk))  # in admin's history
    assert entry.user.username == "admin" and entry.action_flag == CHANGE
    assert entry.get_change_message() == (
        f"Rolled For you back to {first.version} (was {_second.version})."
    )


def test_rollback_action_explains_what_it_cannot_do(admin_client, versions):
    first, second = versions
    response = roll_back(admin_client, first.pk, second.pk)
    assert [str(m) for m in response.context["messages"]] == [
        "Select exactly one version to roll back to."
    ]
    response = roll_back(admin_client, second.pk)
    assert [str(m) for m in response.context["messages"]] == [
        f"Nothing changed: version {second.pk} ({second.version}) is already active."
    ]
    assert active_version("for_you").pk == second.pk


def test_rollback_needs_the_change_permission(client, versions):
    first, second = versions
    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_modelversion"))
    client.force_login(viewer)
    response = client.get(URL)
    assert response.status_code == 200
    assert "roll_back_to_this_version" not in response.content.decode()
    roll_back(client, first.pk)
    assert active_version("for_you").pk == second.pk
    assert ModelVersion.objects.filter(status="active").count() == 4


def test_training_runs_are_listed(admin_client, versions):
    response = admin_client.get("/admin/recommendations/trainingrun/")
    assert response.status_code == 200
    assert "candidates promoted" in response.content.decode()


def test_the_list_shows_what_each_version_was_compared_with(
    admin_client, django_capture_on_commit_callbacks
):
    make_events()
    with django_capture_on_commit_callbacks(execute=True):
        train("full")
        new_traffic(seed=1)
        train("incremental")
    latest = active_version("for_you")
    content = admin_client.get(URL).content.decode()
    assert "Compared with (same split)" in content
    assert f"{latest.reference.version}: {latest.reference_metric:.4f}" in content


def test_activating_a_rejected_version_asks_for_confirmation(
    admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    make_events()
    with django_capture_on_commit_callbacks(execute=True):
        train("full")
        outcome = reject_next_for_you(monkeypatch)
    active = active_version("for_you")

    page = roll_back(admin_client, outcome.version_id)
    content = page.content.decode()
    assert f"Activate {outcome.version}, which the gate rejected?" in content
    assert "was rejected by the promotion gate" in content and 'name="confirm_rejected"' in content
    assert active_version("for_you").pk == active.pk

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            URL,
            {
                "action": "roll_back_to_this_version",
                "_selected_action": [str(outcome.version_id)],
                "confirm_rejected": "yes",
            },
            follow=True,
        )
    assert [str(m) for m in response.context["messages"]] == [
        f"For you now uses {outcome.version}; its stored lists are being recomputed."
    ]
    assert active_version("for_you").pk == outcome.version_id
