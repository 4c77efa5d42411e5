"""The three shells over export and erase: self-service API, management command, admin page."""

from __future__ import annotations

import io
import json

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils.crypto import get_random_string

from recommendations.models import ErasureRequest, Event, VisitorLink

from .conftest import PERSON, cookie_client, database_references, redis_references

pytestmark = pytest.mark.django_db(transaction=True)

EXPORT_URL = "/recommendations/api/privacy/export/"
ERASE_URL = "/recommendations/api/privacy/erase/"
ADMIN_URL = "/admin/recommendations/erasurerequest/person/"


def _csrf_token(client: Client) -> str:
    """A CSRF cookie for the browser, and the token its page would send."""
    token = get_random_string(32)
    client.cookies[settings.CSRF_COOKIE_NAME] = token
    return token


def test_self_service_needs_a_signed_in_user(person):
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.get(EXPORT_URL).status_code == 403
    token = _csrf_token(anonymous)
    assert anonymous.post(ERASE_URL, HTTP_X_CSRFTOKEN=token).status_code == 403
    assert Event.objects.filter(user_id=PERSON).exists()


def test_self_service_export_and_erase_with_csrf(person):
    browser = cookie_client(person.visitor, enforce_csrf_checks=True)
    browser.force_login(person.user)

    response = browser.get(EXPORT_URL)
    assert response.status_code == 200
    document = response.json()
    assert document["subject"]["user_id"] == PERSON
    assert len(document["events"]) == person.events().count() > 0
    assert person.visitor in {link["visitor_id"] for link in document["visitor_links"]}
    assert {e["kind"] for e in document["events"]} >= {"view", "add_to_cart", "click"}
    if settings.SERVICES_MODE:
        assert document["recent_items"][f"user:{PERSON}"]

    assert browser.post(ERASE_URL).status_code == 403  # no CSRF token: nothing happens
    assert Event.objects.filter(user_id=PERSON).exists()
    assert not ErasureRequest.objects.exists()

    response = browser.post(ERASE_URL, HTTP_X_CSRFTOKEN=_csrf_token(browser))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "completed" and body["verified_at"]
    record = ErasureRequest.objects.get()
    assert record.via == "self-service" and record.requested_by is None
    assert not Event.objects.filter(user_id=PERSON).exists()
    assert not VisitorLink.objects.filter(user_id=PERSON).exists()
    assert database_references(person.patterns()) == []
    assert redis_references(person.patterns()) == []


def test_the_command_exports_and_erases(person, tmp_path):
    out = io.StringIO()
    call_command("recommendations_privacy", "export", "--user", str(PERSON), stdout=out)
    document = json.loads(out.getvalue())
    assert len(document["events"]) == person.events().count() > 0

    target = tmp_path / "visitor.json"
    call_command(
        "recommendations_privacy",
        "export",
        "--visitor",
        person.visitor,
        "--output",
        str(target),
        stderr=io.StringIO(),
    )
    assert all(e["visitor_id"] == person.visitor for e in json.loads(target.read_text())["events"])

    out, progress = io.StringIO(), io.StringIO()
    call_command(
        "recommendations_privacy", "erase", "--user", str(PERSON), stdout=out, stderr=progress
    )
    assert "verified at" in out.getvalue()
    assert "Verifying" in progress.getvalue()
    assert ErasureRequest.objects.get().via == "command"
    assert database_references(person.patterns()) == []

    with pytest.raises(CommandError):
        call_command("recommendations_privacy", "erase", stdout=io.StringIO())


def _staff(*codenames: str):
    user = get_user_model().objects.create_user(
        username=f"staff-{'-'.join(codenames) or 'none'}", password="x" * 12, is_staff=True
    )
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return user, client


def test_the_admin_page_is_refused_without_the_permission(person):
    _, client = _staff()
    assert client.get(ADMIN_URL).status_code == 403
    assert client.post(ADMIN_URL, {"user": PERSON, "erase": "1"}).status_code == 403
    _, exporter = _staff("export_personal_data")
    assert exporter.post(ADMIN_URL, {"user": PERSON, "erase": "1"}).status_code == 403
    assert Event.objects.filter(user_id=PERSON).exists()
    assert not ErasureRequest.objects.exists()


def test_the_admin_page_exports_and_erases_with_the_permission(person):
    _, exporter = _staff("export_personal_data")
    page = exporter.get(ADMIN_URL)
    assert (
        page.status_code == 200
        and b"Export JSON" in page.content
        and b'"erase"' not in page.content
    )
    response = exporter.post(ADMIN_URL, {"user": PERSON, "export": "1"})
    assert response.status_code == 200
    assert json.loads(response.content)["subject"]["user_id"] == PERSON
    assert exporter.post(ADMIN_URL, {"export": "1"}).status_code == 200  # the form, with errors

    staff, eraser = _staff("erase_personal_data")
    response = eraser.post(ADMIN_URL, {"user": PERSON, "erase": "1"})
    record = ErasureRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:recommendations_erasurerequest_change", args=[record.pk]
    )
    assert record.status == "completed" and record.via == "admin"
    assert record.requested_by == staff
    assert eraser.get(response["Location"]).status_code == 200
    assert database_references(person.patterns()) == []
