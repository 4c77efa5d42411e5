"""Segments in admin: a condition is checked for its own kind before saving, the members page
names each member with why, charts the daily counts, and exports CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from recommendations.models import (
    ConditionKind,
    EventKind,
    Segment,
    SegmentDailyCount,
    SegmentMember,
)

from .segment_support import HOUR, Catalogue, event, make_catalogue, segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(db: None) -> Catalogue:
    return make_catalogue()


URL = "/admin/recommendations/segment/"
FIELDS = ("kind", "category", "item_id", "count", "days", "hours", "orders", "percent")


def form(*conditions: dict[str, str], **fields: str) -> dict[str, str]:
    data = {
        "name": "Cart abandoners",
        "key": "cart-abandoners",
        "description": "",
        "match": "all",
        "active": "on",
        "conditions-TOTAL_FORMS": str(len(conditions)),
        "conditions-INITIAL_FORMS": "0",
        "conditions-MIN_NUM_FORMS": "0",
        "conditions-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for i, condition in enumerate(conditions):
        for name in FIELDS:
            data[f"conditions-{i}-{name}"] = condition.get(name, "")
    return data


def condition_errors(response) -> list[dict[str, list[str]]]:
    assert response.status_code == 200, response.content[:500]
    formset = response.context["inline_admin_formsets"][0].formset
    return [dict(f.errors) for f in formset.forms]


@pytest.mark.parametrize(
    ("condition", "field", "message"),
    [
        ({"kind": "viewed_category", "count": "3", "days": "7"}, "category", "Enter the category (C)."),
        ({"kind": "viewed_category", "category": "Kitchen", "days": "7"}, "count", "Enter how many views (N)."),
        ({"kind": "viewed_category", "category": "Kitchen", "count": "3"}, "days", "Enter the number of days (D)."),
        ({"kind": "cart_abandoned"}, "hours", "Enter the number of hours (H)."),
        ({"kind": "lapsed_buyer", "days": "30"}, "orders", "Enter the number of orders (K)."),
        ({"kind": "lapsed_buyer", "orders": "2"}, "days", "Enter the number of days (D)."),
        ({"kind": "high_value", "days": "30"}, "percent", "Enter the share of buyers (P %)."),
        ({"kind": "high_value", "percent": "10"}, "days", "Enter the number of days (D)."),
        ({"kind": "viewed_item", "days": "7"}, "item_id", "Choose the product (X)."),
        ({"kind": "for_you_category"}, "category", "Enter the category (C)."),
        ({"kind": "high_value", "percent": "150", "days": "30"}, "percent",
         "Ensure this value is less than or equal to 100."),
        ({"kind": "cart_abandoned", "hours": "0"}, "hours",
         "Ensure this value is greater than or equal to 0.001."),
    ],
)  # fmt: skip
def test_a_missing_or_bad_value_is_an_error_on_the_field_it_names(
    admin_client, catalogue, condition, field, message
):
    response = admin_client.post(f"{URL}add/", form(condition))

    assert condition_errors(response)[0] == {field: [message]}
    assert not Segment.objects.exists()


def test_an_unknown_category_or_product_is_named(admin_client, catalogue):
    response = admin_client.post(
        f"{URL}add/",
        form(
            {"kind": "for_you_category", "category": "Kitchn"},
            {"kind": "viewed_item", "item_id": "999999", "days": "7"},
        ),
    )

    first, second = condition_errors(response)
    assert first == {"category": ['No category "Kitchn"; did you mean "Kitchen"?']}
    assert second == {"item_id": ['No product with the item id "999999".']}


def test_a_segment_needs_a_condition(admin_client, catalogue):
    response = admin_client.post(f"{URL}add/", form())

    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.non_form_errors() == ["Add at least one condition."]
    assert not Segment.objects.exists()


def test_saving_keeps_only_the_kinds_fields_and_computes_the_members(
    admin_client, catalogue, django_capture_on_commit_callbacks
):
    event("shopper", EventKind.ADD_TO_CART, catalogue.kitchen[0], 3 * HOUR)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"{URL}add/",
            form(
                {"kind": "cart_abandoned", "hours": "2", "category": "Kitchen", "count": "4"},
                {"kind": "for_you_category", "category": "kitchen"},
                match="any",
            ),
        )

    assert response.status_code == 302
    saved = Segment.objects.get()
    abandoned, led_by = saved.conditions.all()
    assert (abandoned.hours, abandoned.category, abandoned.count) == (2.0, "", None)
    assert led_by.category == "Kitchen"  # the catalogue's spelling
    assert list(saved.members.values_list("member", flat=True)) == ["v:shopper"]
    assert saved.member_count == 1 and saved.computed_at is not None


@pytest.fixture
def populated(catalogue) -> Segment:
    ann = get_user_model().objects.create_user(
        "ann", email="ann@example.com", first_name="Ann", last_name="Lee"
    )
    chosen = segment({"kind": ConditionKind.CART_ABANDONED, "hours": 2}, key="abandoners")
    now = timezone.now()
    SegmentMember.objects.create(
        segment=chosen,
        member=str(ann.pk),
        user=ann,
        entered_at=now - timedelta(hours=1),
        reasons=["Added to cart 3 hours ago and placed no order within 2 hours."],
    )
    SegmentMember.objects.create(
        segment=chosen,
        member="v:abc123",
        visitor_id="abc123",
        entered_at=now,
        reasons=["Added to cart 5 hours ago and placed no order within 2 hours."],
    )
    today = timezone.localdate()
    SegmentDailyCount.objects.create(
        segment=chosen, day=today - timedelta(days=2), members=4, entered=4, left=0
    )
    SegmentDailyCount.objects.create(segment=chosen, day=today, members=2, entered=1, left=3)
    Segment.objects.filter(pk=chosen.pk).update(member_count=2, computed_at=now)
    return chosen


def test_the_changelist_shows_each_segment_with_its_members(admin_client, populated):
    response = admin_client.get(URL)

    page = response.content.decode()
    assert "Abandoners" in page
    assert f'href="{URL}{populated.pk}/members/">2</a>' in page


def test_the_members_page_names_members_says_why_and_charts_the_days(admin_client, populated):
    response = admin_client.get(f"{URL}{populated.pk}/members/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Ann Lee" in page and "visitor abc123" in page
    assert "Added to cart 5 hours ago and placed no order within 2 hours." in page
    assert "Added to cart and placed no order within 2 hours" in page  # the condition
    members = response.context["members_chart"]
    assert members["type"] == "line"
    # Days without a computation carry the size over: 4, 4, then 2 today.
    assert members["datasets"][0]["data"][-3:] == [4, 4, 2]
    changes = {d["label"]: d["data"][-3:] for d in response.context["changes_chart"]["datasets"]}
    assert changes == {"Entered": [4, 0, 1], "Left": [0, 0, 3]}
    assert 'data-chart="chart-members"' in page
    assert (
        json.loads(
            page.split('id="chart-members" type="application/json">')[1].split("</script>")[0]
        )
        == members
    )


def test_the_csv_export_has_every_member_with_reasons(admin_client, populated):
    response = admin_client.get(f"{URL}{populated.pk}/members/?format=csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "segment-abandoners-members.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["member"], r["name"], r["email"], r["visitor_id"]) for r in rows] == [
        ("v:abc123", "visitor abc123", "", "abc123"),
        (rows[1]["member"], "Ann Lee", "ann@example.com", ""),
    ]
    assert rows[0]["reasons"] == "Added to cart 5 hours ago and placed no order within 2 hours."


def test_recompute_now_rebuilds_the_segment(
    admin_client, populated, django_capture_on_commit_callbacks
):
    """The stored members above have no events behind them: a rebuild removes them."""
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"{URL}{populated.pk}/recompute/")

    assert response.status_code == 302
    populated.refresh_from_db()
    assert populated.member_count == 0 and not populated.members.exists()
    assert SegmentDailyCount.objects.get(segment=populated, day=timezone.localdate()).left == 5


def test_a_members_page_of_no_segment_is_a_404(admin_client, db):
    assert admin_client.get(f"{URL}12345/members/").status_code == 404
    assert admin_client.get(f"{URL}abc/members/").status_code == 404
    assert admin_client.get(f"{URL}1/recompute/").status_code == 405


def test_the_change_page_links_to_the_members_and_daily_counts(admin_client, populated):
    response = admin_client.get(f"{URL}{populated.pk}/change/")

    assert response.status_code == 200
    assert f'href="{URL}{populated.pk}/members/">Members and daily counts</a>' in (
        response.content.decode()
    )


def test_the_recompute_action_rebuilds_the_selected_segments(
    admin_client, populated, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            URL, {"action": "recompute_now", "_selected_action": [str(populated.pk)]}
        )

    assert response.status_code == 302
    populated.refresh_from_db()
    assert populated.member_count == 0
