"""Rules a merchandiser can't get wrong: targets picked and checked, the effect seen before
saving, every change in a history with its author and a revert."""

from __future__ import annotations

import pytest
from django.test import Client

from recommendations.models import Rule
from recommendations.stores import get_store
from recommendations.types import Action, Slot

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
        "try_slot": "",
        "try_item": "",
        "try_person": "",
    }
    return {**data, **fields}


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        (
            "category",
            "Kitchen and Dining",
            'No category "Kitchen and Dining"; did you mean "Kitchen & Dining"?',
        ),
        ("brand", "Greenwey", 'No brand "Greenwey"; did you mean "Greenway"?'),
    ],
)
def test_an_unknown_category_or_brand_is_refused_with_a_suggestion(
    merch_client, catalogue, field, typed, message
):
    response = merch_client.post(
        f"{URL}add/", form(name="Hide", action="exclude", **{field: typed})
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert not Rule.objects.exists()


def test_a_known_name_is_saved_as_the_catalogue_spells_it(merch_client, catalogue):
    response = merch_client.post(
        f"{URL}add/", form(name="Hide", action="exclude", category="kitchen & dining")
    )
    assert response.status_code == 302
    assert Rule.objects.get().category == "Kitchen & Dining"


def test_an_unknown_product_is_refused_with_products_like_it(merch_client, catalogue):
    response = merch_client.post(
        f"{URL}add/", form(name="Pin", action="pin", item_id="Garden thing", position="1")
    )
    [error] = response.context["adminform"].form.errors["item_id"]
    assert error.startswith(
        'No product with the item id "Garden thing"; did you mean "Garden thing 0"'
    )


def test_the_form_offers_the_catalogues_names_and_a_product_picker(merch_client, catalogue):
    content = merch_client.get(f"{URL}add/").content.decode()
    assert '<option value="Kitchen &amp; Dining">' in content
    assert '<option value="Greenway">' in content
    assert 'data-ajax--url="/admin/recommendations/rule/products/"' in content
    assert "admin/js/vendor/select2/select2.full" in content


def test_the_product_picker_finds_by_name_and_sku(merch_client, clerk_client, catalogue):
    toy = catalogue["Toys"][2]
    by_name = merch_client.get(f"{URL}products/", {"term": "toys thing 2"}).json()
    assert by_name["results"] == [
        {"id": str(toy.pk), "text": f"Toys thing 2 ({toy.pk}) · Toys · Acme"}
    ]
    by_sku = merch_client.get(f"{URL}products/", {"term": "toy-2"}).json()
    assert [r["id"] for r in by_sku["results"]] == [str(toy.pk)]
    assert clerk_client.get(f"{URL}products/", {"term": "toy"}).status_code == 200
    assert Client().get(f"{URL}products/").status_code == 302


def test_the_rule_list_names_the_products(merch_client, catalogue):
    teapot = catalogue["Kitchen & Dining"][1]
    Rule.objects.create(name="Launch", action=Action.PIN, item_id=str(teapot.pk), position=2)
    content = merch_client.get(URL).content.decode()
    assert f"Pin &quot;Kitchen &amp; Dining thing 1&quot; ({teapot.pk}) at position 2" in content
    assert merch_client.get(f"{URL}{Rule.objects.get().pk}/change/").status_code == 200


def test_the_live_preview_shows_the_pin_at_its_position_and_saves_nothing(
    merch_client, merchandiser, catalogue
):
    garden = [str(p.pk) for p in catalogue["Garden"]]
    toy = str(catalogue["Toys"][0].pk)
    get_store().put_many({"trending": [(item, 1.0 - i / 10) for i, item in enumerate(garden)]})
    response = merch_client.post(
        f"{URL}effect/",
        form(
            name="Toy first",
            action="pin",
            item_id=toy,
            position="2",
            slot=Slot.TRENDING,
            try_slot="",
        ),
    )
    assert response.status_code == 200
    comparison = response.context["comparison"]
    assert comparison.slot is Slot.TRENDING
    assert [entry.item.item_id for entry in comparison.served][:3] == [garden[0], toy, garden[1]]
    assert [entry.item.item_id for entry in comparison.unruled][:2] == garden[:2]
    assert [rule.name for rule in comparison.rows[1].rules] == ["This rule (not saved)"]
    assert b"Toys thing 0" in response.content
    assert not Rule.objects.exists() and not Rule.history.exists()


def test_the_live_preview_of_an_edit_replaces_the_saved_rule(merch_client, catalogue):
    garden = [str(p.pk) for p in catalogue["Garden"]]
    get_store().put_many({"trending": [(item, 1.0 - i / 10) for i, item in enumerate(garden)]})
    rule = Rule.objects.create(name="Move", action=Action.PIN, item_id=garden[3], position=1)
    response = merch_client.post(
        f"{URL}effect/",
        form(
            _rule=str(rule.pk),
            name="Move",
            action="pin",
            item_id=garden[3],
            position="3",
            try_slot=Slot.TRENDING,
        ),
    )
    comparison = response.context["comparison"]
    assert [e.item.item_id for e in comparison.served][:4] == [
        garden[0],
        garden[1],
        garden[3],
        garden[2],
    ]
    assert [e.item.item_id for e in comparison.unruled][:4] == garden  # without this rule at all
    rule.refresh_from_db()
    assert rule.position == 1


def test_the_live_preview_reports_a_bad_rule_instead(merch_client, catalogue):
    response = merch_client.post(f"{URL}effect/", form(name="Oops", action="exclude", brand="Nope"))
    assert response.status_code == 200
    assert b"No brand &quot;Nope&quot;" in response.content


def test_the_live_preview_for_a_person_needs_the_preview_permission(
    clerk_client, merch_client, catalogue, shopper
):
    data = form(name="Hide", action="exclude", brand="Acme", try_person="ann@example.com")
    assert clerk_client.post(f"{URL}effect/", data).status_code == 403
    response = merch_client.post(f"{URL}effect/", data)
    assert response.status_code == 200 and response.context["person"].user_id == shopper.pk


def test_the_form_has_the_preview_button(merch_client, catalogue):
    content = merch_client.get(f"{URL}add/").content.decode()
    assert 'formaction="/admin/recommendations/rule/effect/"' in content


def test_history_records_each_change_with_its_author_and_revert_restores_it(
    merch_client, merchandiser, catalogue
):
    merch_client.post(
        f"{URL}add/", form(name="Hide toys", action="exclude", category="Toys", slot="trending")
    )
    rule = Rule.objects.get()
    response = merch_client.post(
        f"{URL}{rule.pk}/change/",
        form(name="Hide garden", action="exclude", category="Garden", slot="trending"),
    )
    assert response.status_code == 302
    first, second = rule.history.order_by("history_id")
    assert (first.history_type, first.category, first.history_user) == ("+", "Toys", merchandiser)
    assert (second.history_type, second.category, second.history_user) == (
        "~",
        "Garden",
        merchandiser,
    )

    history = merch_client.get(f"{URL}{rule.pk}/history/")
    assert history.status_code == 200 and b"Hide garden" in history.content
    revert_url = f"{URL}{rule.pk}/history/{first.history_id}/"
    page = merch_client.get(revert_url)
    assert page.status_code == 200 and b"Revert" in page.content
    response = merch_client.post(
        revert_url, form(name="Hide toys", action="exclude", category="Toys", slot="trending")
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.category) == ("Hide toys", "Toys")
    assert rule.history.count() == 3 and rule.history.first().history_user == merchandiser


def test_bulk_switches_are_in_the_history_with_their_author(merch_client, merchandiser, catalogue):
    rule = Rule.objects.create(name="Off soon", action=Action.EXCLUDE, category="Toys")
    merch_client.post(URL, {"action": "deactivate", "_selected_action": [rule.pk]})
    latest = rule.history.first()
    assert (latest.active, latest.history_user) == (False, merchandiser)


def test_rule_pages_are_refused_to_staff_without_rule_permissions(catalogue, django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_user("intern", is_staff=True))
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}products/").status_code == 403
    assert (
        client.post(f"{URL}effect/", form(name="x", action="exclude", brand="Acme")).status_code
        == 403
    )
