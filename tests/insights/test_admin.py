"""Stock and prices in admin: the pages staff read and the decisions they take."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.test import Client

from recommendations.catalog import ModelCatalog
from recommendations.insights.nightly import compute_insights
from recommendations.models import EventKind, PriceSuggestion
from shop.catalog import ShopCatalog

from .conftest import staff

pytestmark = pytest.mark.django_db
OVERVIEW = "/admin/recommendations/productinsight/overview/"
PRODUCT = "/admin/recommendations/productinsight/product/"


class FixedPrices(ShopCatalog):
    """A store whose prices live elsewhere: it leaves set_price unimplemented."""

    set_price = ModelCatalog.set_price


@pytest.fixture
def computed(make_product, record, today):
    teapot = make_product("Teapot", stock=10)
    record(teapot, {d: 3 for d in range(1, 61)})
    vase = make_product("Old vase", stock=50)
    record(vase, {d: 2 for d in range(1, 61)}, EventKind.VIEW)
    lamp = make_product("Shiny lamp", stock=100, price="40.00")
    record(lamp, {d: 8 for d in range(1, 61)}, EventKind.VIEW)
    record(lamp, {d: 1 for d in range(3, 61, 10)})
    compute_insights(today)
    return {"teapot": teapot, "vase": vase, "lamp": lamp}


def lamp_suggestion(computed) -> PriceSuggestion:
    return PriceSuggestion.objects.get(item_id=str(computed["lamp"].pk))


def test_the_overview_names_products_about_to_run_out_and_overstock(merch_client, computed):
    response = merch_client.get(OVERVIEW)
    assert response.status_code == 200
    assert [p.title for p in response.context["running_out"]] == ["Teapot"]
    # Most stock first: the lamp sells one unit in ten days and has a hundred.
    assert [p.title for p in response.context["overstock"]] == ["Shiny lamp", "Old vase"]
    content = response.content.decode()
    assert "Teapot" in content and "Old vase" in content and "Shiny lamp" in content
    assert f"?item={computed['teapot'].pk}" in content


def test_the_dashboard_links_to_it(computed):
    boss = User.objects.create_superuser("boss", "boss@example.com", "pw")
    client = Client()
    client.force_login(boss)
    assert OVERVIEW in client.get("/admin/recommendations/event/dashboard/").content.decode()


def test_the_product_page_charts_history_forecast_and_interval(merch_client, computed):
    response = merch_client.get(PRODUCT, {"item": str(computed["teapot"].pk)})
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-chart="chart-product"' in content and "about to run out" in content
    spec = response.context["product_chart"]
    labels = [d["label"] for d in spec["datasets"]]
    assert labels == [
        "units bought",
        "forecast",
        "interval low",
        "interval high",
        "views",
        "add-to-carts",
    ]
    forecast = spec["datasets"][1]["data"]
    assert sum(value is not None for value in forecast) == 28
    assert spec["datasets"][0]["data"][-29] == 3.0  # yesterday's units, before the forecast
    assert (
        json.loads(
            content.split('id="chart-product" type="application/json">')[1].split("</script>")[0]
        )
        == spec
    )
    # A product may be found by its name too.
    by_name = merch_client.get(PRODUCT, {"item": "old vase"})
    assert by_name.status_code == 200 and by_name.context["insight"].title == "Old vase"


@pytest.mark.parametrize("item", ["999999", "no such thing", "x" * 80])
def test_an_unknown_product_is_a_form_error(merch_client, computed, item):
    response = merch_client.get(PRODUCT, {"item": item})
    assert response.status_code == 400
    assert response.context["form"].errors["item"]
    assert "errornote" in response.content.decode()


def test_non_staff_are_sent_to_the_login_and_staff_without_permission_refused(computed, client):
    shopper = User.objects.create_user("ann", "ann@example.com", "pw")
    client.force_login(shopper)
    for url in (OVERVIEW, PRODUCT):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    nosy = Client()
    nosy.force_login(staff("nosy"))
    assert nosy.get(OVERVIEW).status_code == 403
    decide = f"/admin/recommendations/pricesuggestion/{lamp_suggestion(computed).pk}/decide/"
    viewer = Client()
    viewer.force_login(staff("viewer", "view_pricesuggestion", "view_productinsight"))
    assert viewer.post(decide, {"decision": "accept"}).status_code == 403
    assert lamp_suggestion(computed).status == PriceSuggestion.Status.PENDING


def _decide(client, suggestion, **data):
    return client.post(f"/admin/recommendations/pricesuggestion/{suggestion.pk}/decide/", data)


def test_accepting_applies_the_price_through_the_adapter_and_logs_it(
    merch_client, merchandiser, computed
):
    suggestion = lamp_suggestion(computed)
    page = merch_client.get(f"/admin/recommendations/pricesuggestion/{suggestion.pk}/decide/")
    assert page.status_code == 200 and "Viewed 224 times" in page.content.decode()
    response = _decide(merch_client, suggestion, decision="accept", note="Spring clearance")
    assert response.status_code == 302
    computed["lamp"].refresh_from_db()
    assert computed["lamp"].price == Decimal("36.00")
    suggestion.refresh_from_db()
    assert suggestion.status == PriceSuggestion.Status.ACCEPTED
    assert suggestion.decided_by == merchandiser and suggestion.decided_at is not None
    (entry,) = LogEntry.objects.filter(object_id=str(suggestion.pk))
    assert entry.user == merchandiser
    assert entry.change_message == "Accepted: price 40.00 → 36.00. Spring clearance"
    # Decided once: a second decision is refused, nothing changes.
    again = _decide(merch_client, suggestion, decision="reject")
    assert again.status_code == 409 and "already accepted" in again.content.decode()


def test_rejecting_logs_and_leaves_the_price(merch_client, merchandiser, computed):
    suggestion = lamp_suggestion(computed)
    assert _decide(merch_client, suggestion, decision="reject").status_code == 302
    computed["lamp"].refresh_from_db()
    assert computed["lamp"].price == Decimal("40.00")
    suggestion.refresh_from_db()
    assert suggestion.status == PriceSuggestion.Status.REJECTED
    assert LogEntry.objects.get(object_id=str(suggestion.pk)).change_message == "Rejected."


def test_a_store_without_set_price_is_told_and_nothing_changes(merch_client, computed, settings):
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "CATALOG_ADAPTER": "tests.insights.test_admin.FixedPrices",
    }
    suggestion = lamp_suggestion(computed)
    response = _decide(merch_client, suggestion, decision="accept")
    assert response.status_code == 409
    assert "does not implement set_price()" in response.content.decode()
    computed["lamp"].refresh_from_db()
    assert computed["lamp"].price == Decimal("40.00")
    suggestion.refresh_from_db()
    assert suggestion.status == PriceSuggestion.Status.PENDING
    assert not LogEntry.objects.filter(object_id=str(suggestion.pk)).exists()


def test_a_price_changed_since_expires_the_suggestion(merch_client, computed):
    computed["lamp"].price = Decimal("39.00")
    computed["lamp"].save()
    suggestion = lamp_suggestion(computed)
    response = _decide(merch_client, suggestion, decision="accept")
    assert response.status_code == 409 and "the price is now 39.00" in response.content.decode()
    computed["lamp"].refresh_from_db()
    assert computed["lamp"].price == Decimal("39.00")
    suggestion.refresh_from_db()
    assert suggestion.status == PriceSuggestion.Status.EXPIRED


@pytest.mark.parametrize(
    "data", [{"decision": "maybe"}, {}, {"decision": "accept", "note": "n" * 600}]
)
def test_bad_decision_input_is_a_form_error(merch_client, computed, data):
    suggestion = lamp_suggestion(computed)
    response = _decide(merch_client, suggestion, **data)
    assert response.status_code == 400
    assert "errornote" in response.content.decode()
    suggestion.refresh_from_db()
    assert suggestion.status == PriceSuggestion.Status.PENDING


def test_the_suggestion_list_and_bulk_reject(merch_client, computed):
    listing = merch_client.get("/admin/recommendations/pricesuggestion/")
    assert listing.status_code == 200 and "Shiny lamp" in listing.content.decode()
    pending = list(PriceSuggestion.objects.values_list("pk", flat=True))
    response = merch_client.post(
        "/admin/recommendations/pricesuggestion/",
        {"action": "reject_selected", "_selected_action": pending},
    )
    assert response.status_code == 302
    assert set(PriceSuggestion.objects.values_list("status", flat=True)) == {"rejected"}
    assert LogEntry.objects.count() == len(pending)


def test_the_insight_list_links_each_product_to_its_forecast(merch_client, computed):
    response = merch_client.get("/admin/recommendations/productinsight/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Teapot" in content and OVERVIEW in content
    assert f"{PRODUCT}?item={computed['teapot'].pk}" in content
