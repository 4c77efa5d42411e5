"""Merchandisers manage rules in admin: readable list, validated form, bulk on/off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from recommendations.models import Rule
from recommendations.types import Action, Slot
from tests.shop.factories import ProductFactory

pytestmark = pytest.mark.django_db

URL = "/admin/recommendations/rule/"


def form(**fields: str) -> dict[str, str]:
    data = {
        "name": "",
        "action": "",
        "active": "on",
        "item_id": "",
        "category": "",
        "brand": "",
        "min_price": "",
        "max_price": "",
        "slot": "",
        "position": "",
        "weight": "",
        "starts_at_0": "",
        "starts_at_1": "",
        "ends_at_0": "",
        "ends_at_1": "",
    }
    return {**data, **fields}


def test_a_superuser_adds_a_pin_and_is_recorded_as_its_author(admin_client, admin_user):
    product = ProductFactory()
    response = admin_client.post(
        f"{URL}add/",
        form(
            name="Launch",
            action="pin",
            item_id=str(product.pk),
            position="1",
            slot=Slot.FOR_YOU,
            starts_at_0="2030-01-01",
            starts_at_1="09:00:00",
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    rule = Rule.objects.get()
    assert (rule.action, rule.item_id, rule.position, rule.slot) == (
        "pin",
        str(product.pk),
        1,
        "for-you",
    )
    assert rule.starts_at is not None and rule.created_by == admin_user


def test_a_bad_rule_is_rejected_with_the_error_on_its_field(admin_client):
    response = admin_client.post(URL + "add/", form(name="Half a pin", action="pin", item_id="7"))
    assert response.status_code == 200
    assert Rule.objects.count() == 0
    errors = response.context["adminform"].form.errors
    assert errors["position"] == ["A pin needs a position (1 is the first place)."]
    assert b"A pin needs a position" in response.content


def test_a_rule_without_a_target_shows_the_error_above_the_form(admin_client):
    response = admin_client.post(URL + "add/", form(name="Vague", action="exclude"))
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "Choose what the rule applies to: an item id, a category, a brand or a price range."
    ]


def test_a_pin_for_an_unknown_item_is_refused_naming_it(admin_client):
    """A rule for no product would show as Live and change nothing: the form says so."""
    response = admin_client.post(
        URL + "add/", form(name="Soon", action="pin", item_id="999999", position="2")
    )
    assert response.status_code == 200
    assert not Rule.objects.exists()
    assert response.context["adminform"].form.errors["item_id"] == [
        'No product with the item id "999999".'
    ]


def test_the_list_reads_as_sentences_with_where_and_when(admin_client):
    now = timezone.now()
    Rule.objects.create(
        name="Launch", action=Action.PIN, item_id="42", position=1, slot=Slot.TRENDING
    )
    Rule.objects.create(name="Acme", action=Action.BOOST, brand="Acme", weight=0.5)
    Rule.objects.create(
        name="Later", action=Action.EXCLUDE, category="Mugs", starts_at=now + timedelta(days=1)
    )
    Rule.objects.create(name="Paused", action=Action.EXCLUDE, item_id="9", active=False)
    response = admin_client.get(URL)
    assert response.status_code == 200
    content = response.content.decode()
    for column, text in [
        ("summary", "Pin item 42 at position 1"),
        ("summary", "Boost brand Acme by 50%"),
        ("where", "Trending"),
        ("where", "Every slot"),
        ("schedule", "Always"),
        ("status", "Live"),
        ("status", "Scheduled"),
        ("status", "Off"),
    ]:
        assert f'<td class="field-{column}">{text}</td>' in content
    assert '<td class="field-schedule">From ' in content


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("action__exact=pin", {"Launch"}),
        ("slot__exact=trending", {"Launch"}),
        ("active__exact=0", {"Off"}),
        ("window=current", {"Launch", "Off", "Acme"}),
        ("window=scheduled", {"Later"}),
        ("window=ended", {"Past"}),
        ("q=acme", {"Acme"}),
    ],
)
def test_filters_and_search(admin_client, query, names):
    now = timezone.now()
    Rule.objects.create(
        name="Launch", action=Action.PIN, item_id="42", position=1, slot=Slot.TRENDING
    )
    Rule.objects.create(name="Off", action=Action.EXCLUDE, item_id="9", active=False)
    Rule.objects.create(
        name="Later", action=Action.EXCLUDE, item_id="8", starts_at=now + timedelta(days=1)
    )
    Rule.objects.create(
        name="Past", action=Action.EXCLUDE, item_id="7", ends_at=now - timedelta(days=1)
    )
    Rule.objects.create(name="Acme", action=Action.BURY, brand="Acme", weight=1)
    response = admin_client.get(f"{URL}?{query}")
    assert {rule.name for rule in response.context["cl"].result_list} == names


def test_activate_and_deactivate_actions(admin_client):
    on = Rule.objects.create(name="On", action=Action.EXCLUDE, item_id="1")
    off = Rule.objects.create(name="Off", action=Action.EXCLUDE, item_id="2", active=False)
    before = off.updated
    response = admin_client.post(
        URL, {"action": "activate", "_selected_action": [on.pk, off.pk]}, follow=True
    )
    off.refresh_from_db()
    assert off.active and off.updated > before
    assert "1 rule activated." in [str(m) for m in get_messages(response.wsgi_request)]
    admin_client.post(URL, {"action": "deactivate", "_selected_action": [on.pk, off.pk]})
    assert not Rule.objects.filter(active=True).exists()
