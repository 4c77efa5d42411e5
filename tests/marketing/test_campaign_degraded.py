"""A page never fails for a campaign: with the database or Redis away, the endpoint answers 200
(the campaign the process already knows, or none) and the store's pages render."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection

from recommendations import redis_client
from recommendations.marketing.campaigns.live import clear_cache
from tests.processes import app_on_private_redis, stop

from .campaign_support import (
    URL,
    _fresh_campaign_caches,  # noqa: F401  (autouse)
    campaign,
    segment,
    shown_key,
    visitor_client,
    visitor_id,
)

pytestmark = pytest.mark.django_db

MARKETING_TABLES = ("recommendations_campaign", "recommendations_segment")


def refuse_marketing(execute, sql, params, many, context):
    """The database as a lost connection leaves it, for the campaign and segment tables."""
    if any(table in sql for table in MARKETING_TABLES):
        raise OperationalError("server closed the connection unexpectedly")
    return execute(sql, params, many, context)


def expire_campaign_list() -> None:
    """Let the process's list expire, as five seconds of traffic would."""
    from recommendations.marketing.campaigns import live

    live._active._expires = 0.0


def test_with_the_database_away_the_campaign_already_read_is_still_shown():
    member = visitor_id(1)
    campaign("members", segment("members", member), priority=9)
    campaign("everyone", priority=1)
    client = visitor_client(member)
    assert shown_key(client) == "members"
    expire_campaign_list()
    with connection.execute_wrapper(refuse_marketing):
        # No membership lookup: the campaign for everyone, from the list read before.
        assert shown_key(client) == "everyone"
        page = client.get("/")
        assert page.status_code == 200 and "everyone headline" in page.content.decode()


def test_with_the_database_away_and_nothing_read_yet_there_is_no_campaign():
    campaign("everyone")
    clear_cache()
    client = visitor_client(visitor_id(2))
    with connection.execute_wrapper(refuse_marketing):
        response = client.get(URL)
        assert response.status_code == 200 and response.json() == {"campaign": None}
        assert client.get("/").status_code == 200


@pytest.mark.services
def test_with_redis_away_the_cap_is_counted_in_the_process(
    settings, django_capture_on_commit_callbacks
):
    with app_on_private_redis(settings, REDIS_TIMEOUT=0.2, REDIS_RETRY_AFTER=60) as (_, server):
        campaign("capped", priority=5, frequency_cap=3)
        campaign("next", priority=1)
        client = visitor_client(visitor_id(3))
        with django_capture_on_commit_callbacks(execute=True):
            assert shown_key(client) == "capped"  # counted in Redis
            stop(server)
            # Redis gone: counted by the process from here (the exposure goes to the database).
            assert [shown_key(client) for _ in range(4)] == ["capped", "capped", "capped", "next"]
            page = client.get("/")
        assert page.status_code == 200 and "next headline" in page.content.decode()
        assert not redis_client.available()
