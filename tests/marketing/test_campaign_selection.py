"""Which campaign a visitor is shown: segments, priority, period, holdout, frequency cap."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from recommendations.marketing.campaigns.holdout import Arm, arm_of
from recommendations.models import Event, EventKind

from .campaign_support import (
    BROWSER,
    _fresh_campaign_caches,  # noqa: F401  (autouse)
    campaign,
    exposures,
    holdout_visitor,
    segment,
    shown_key,
    shown_visitor,
    visitor_client,
    visitor_id,
)

pytestmark = pytest.mark.django_db


def test_a_segment_member_sees_its_campaign_and_others_the_one_for_everyone(drain):
    member, other = visitor_id(1), visitor_id(2)
    lapsed = segment("lapsed", member)
    campaign("welcome-back", lapsed, priority=5)
    campaign("for-all", priority=1)
    assert shown_key(visitor_client(member)) == "welcome-back"
    assert shown_key(visitor_client(other)) == "for-all"


def test_the_highest_priority_campaign_wins_and_an_untargeted_visitor_may_see_none():
    member = visitor_id(1)
    lapsed, big = segment("lapsed", member), segment("big-spenders", member)
    campaign("low", lapsed, priority=1)
    campaign("high", big, priority=9)
    campaign("middle", lapsed, big, priority=4)
    assert shown_key(visitor_client(member)) == "high"
    assert shown_key(visitor_client(visitor_id(2))) is None


def test_a_signed_in_user_is_matched_by_their_user_key(django_user_model):
    user = django_user_model.objects.create_user("ann", password="x")
    campaign("vip", segment("vips", str(user.pk)))
    client = visitor_client(visitor_id(3))
    assert shown_key(client) is None
    client.force_login(user)
    assert shown_key(client) == "vip"


def test_only_campaigns_in_their_period_and_active_are_shown():
    now = timezone.now()
    campaign(
        "ended", priority=9, starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1)
    )
    campaign("future", priority=8, starts_at=now + timedelta(hours=1))
    campaign("unscheduled", priority=7, starts_at=None)
    campaign("paused", priority=6, active=False)
    client = visitor_client(visitor_id(4))
    assert shown_key(client) is None
    campaign("running", priority=1, ends_at=now + timedelta(hours=1))
    assert shown_key(client) == "running"  # saving a campaign is seen at once


def test_a_campaign_aimed_only_at_inactive_segments_targets_nobody():
    member = visitor_id(5)
    dormant = segment("dormant", member)
    campaign("dormant-offer", dormant)
    assert shown_key(visitor_client(member)) == "dormant-offer"
    dormant.active = False
    dormant.save()
    from recommendations.marketing.campaigns.live import clear_cache

    clear_cache()  # what the five-second expiry does
    assert shown_key(visitor_client(member)) is None


def test_editing_a_campaigns_segments_takes_effect_at_once():
    member = visitor_id(6)
    offer = campaign("offer", segment("first", visitor_id(7)))
    client = visitor_client(member)
    assert shown_key(client) is None
    offer.segments.add(segment("second", member))
    assert shown_key(client) == "offer"


def test_the_holdout_is_about_its_share_and_stable_per_visitor():
    visitors = [visitor_id(n) for n in range(4000)]
    held = [v for v in visitors if arm_of("spring", v, 20.0) is Arm.HOLDOUT]
    assert 0.17 < len(held) / len(visitors) < 0.23
    assert held == [v for v in visitors if arm_of("spring", v, 20.0) is Arm.HOLDOUT]
    # Another campaign's holdout is drawn independently, not the same visitors.
    other = {v for v in visitors if arm_of("autumn", v, 20.0) is Arm.HOLDOUT}
    assert 0.1 < len(other & set(held)) / len(held) < 0.3
    assert not [v for v in visitors if arm_of("spring", v, 0.0) is Arm.HOLDOUT]


def test_a_holdout_visitor_sees_no_campaign_not_the_next_one_down(
    drain, django_capture_on_commit_callbacks
):
    visitor = holdout_visitor("spring", 30.0)
    campaign("spring", priority=5, holdout_percent=30.0)
    campaign("fallback", priority=1)
    client = visitor_client(visitor)
    with django_capture_on_commit_callbacks(execute=True):
        assert [shown_key(client) for _ in range(3)] == [None, None, None]
    drain()
    # Recorded once today, as held out of the campaign that applied.
    assert exposures() == [(visitor, "spring", "holdout")]


def test_shown_visitors_are_recorded_once_a_day_and_through_the_tracking_path(
    drain, django_capture_on_commit_callbacks
):
    visitor = shown_visitor("spring", 30.0)
    campaign("spring", holdout_percent=30.0)
    client = visitor_client(visitor)
    with django_capture_on_commit_callbacks(execute=True):
        assert [shown_key(client) for _ in range(3)] == ["spring"] * 3
    drain()
    assert exposures() == [(visitor, "spring", "shown")]
    event = Event.objects.get(kind=EventKind.EXPOSURE)
    assert event.item_id == "" and event.user_id is None


def test_the_frequency_cap_passes_to_the_next_campaign_for_the_rest_of_the_day():
    visitor = visitor_id(8)
    campaign("capped", priority=5, frequency_cap=2)
    campaign("uncapped", priority=1)
    client = visitor_client(visitor)
    assert [shown_key(client) for _ in range(4)] == ["capped", "capped", "uncapped", "uncapped"]
    # Another visitor has a cap of their own.
    assert shown_key(visitor_client(visitor_id(9))) == "capped"


def test_a_visitor_who_declined_tracking_gets_the_campaign_for_everyone_and_leaves_no_trace(
    drain, django_capture_on_commit_callbacks
):
    member = visitor_id(10)
    campaign("members", segment("members", member), priority=9)
    campaign("everyone", priority=1, frequency_cap=1, holdout_percent=50.0)
    declined = visitor_client(member, HTTP_SEC_GPC="1")
    # Not looked up in segments, never held out, not capped.
    with django_capture_on_commit_callbacks(execute=True):
        assert [shown_key(declined) for _ in range(3)] == ["everyone"] * 3
    drain()
    assert exposures() == []
    assert "recommendations_visitor" not in declined.get("/recommendations/api/campaign/").cookies


def test_a_first_visit_gets_a_visitor_cookie_so_the_next_request_is_the_same_person():
    campaign("everyone", frequency_cap=1)
    client = Client(HTTP_USER_AGENT=BROWSER)
    first = client.get("/recommendations/api/campaign/")
    assert first.json()["campaign"]["key"] == "everyone"
    assert "recommendations_visitor" in first.cookies
    assert shown_key(client) is None  # the same visitor, capped
