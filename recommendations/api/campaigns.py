"""The campaign endpoint, and the presentation it shares with the template tag.

``GET /recommendations/api/campaign/`` answers ``{"campaign": ...}`` for the request's own visitor
(never another's), or ``{"campaign": null}``: no campaign applies, the visitor is in its holdout,
or something it needs is away (a storefront must not fail for a banner).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import DatabaseError
from django.http import HttpRequest
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from recommendations.catalog import ItemInfo
from recommendations.conf import app_settings
from recommendations.marketing.campaigns.content import Content, content_of, safe_link
from recommendations.marketing.campaigns.live import LiveCampaign
from recommendations.marketing.campaigns.selection import campaign_for
from recommendations.models import CampaignContent
from recommendations.serving.audience import audience_for
from recommendations.serving.pipeline import UnknownItem, recommend
from recommendations.serving.rendering import items_on_page

from .serializers import DetailSerializer
from .throttling import OptionalScopedRateThrottle
from .views import PARAMETER_ERRORS, ServesWithoutDatabase

logger = logging.getLogger("recommendations.api")


@dataclass
class Presented:
    content: Content
    #: Part of the content could not be read (the slot served a fallback, the catalogue away).
    degraded: bool = False


def present(
    request: HttpRequest,
    campaign: LiveCampaign,
    *,
    limit: int | None = None,
    item_id: str | None = None,
) -> Presented:
    """The campaign's content for this request; a slot campaign's items from the pipeline, for
    the same visitor, without the items the page already shows."""
    content = content_of(campaign, limit=limit or app_settings.DEFAULT_LIMIT)
    degraded = False
    if campaign.content == CampaignContent.SLOT and campaign.slot:
        try:
            result = recommend(
                campaign.slot,
                audience_for(request),
                item_id=item_id,
                limit=limit,
                exclude=items_on_page(request),
            )
        except UnknownItem:
            result = None
        except DatabaseError as exc:
            logger.warning("Campaign slot unavailable (%s); showing its banner only", exc)
            result, degraded = None, True
        if result is not None:
            content.items = [r.item for r in result.items]
            degraded = result.degraded
    return Presented(content, degraded)


class CampaignQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="At most this many products (a product list or a recommendation slot).",
    )
    item = serializers.CharField(
        required=False,
        min_length=1,
        max_length=64,
        help_text="The product the page is about, for a slot about an item (similar, …).",
    )

    def validate_limit(self, value: int) -> int:
        if value > app_settings.MAX_LIMIT:
            raise serializers.ValidationError(
                f"Ensure this value is less than or equal to {app_settings.MAX_LIMIT}."
            )
        return value


class CampaignItemSerializer(serializers.Serializer):
    item_id = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField()
    category = serializers.CharField()
    brand = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)


class CampaignSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    content = serializers.ChoiceField(choices=CampaignContent.choices)
    headline = serializers.CharField(help_text="The banner text (may be empty).")
    link = serializers.CharField(help_text="Where the banner leads (may be empty).")
    coupon_code = serializers.CharField(help_text="May be empty.")
    items = CampaignItemSerializer(many=True)
    token = serializers.CharField(
        help_text="Send it back in the context of impression and click events (a banner's "
        "without item_id), so that the campaign is credited."
    )
    degraded = serializers.BooleanField(
        help_text="True when part of the content could not be read (a fallback was served)."
    )


class CampaignResponseSerializer(serializers.Serializer):
    campaign = CampaignSerializer(allow_null=True)


def as_json(presented: Presented) -> dict:
    content = presented.content
    campaign = content.campaign
    return {
        "key": campaign.key,
        "name": campaign.name,
        "content": campaign.content,
        "headline": campaign.headline,
        "link": safe_link(campaign.link_url),
        "coupon_code": campaign.coupon_code,
        "items": [_item(info) for info in content.items],
        "token": content.token,
        "degraded": presented.degraded,
    }


def _item(info: ItemInfo) -> dict:
    return {
        "item_id": info.item_id,
        "title": info.title,
        "url": info.url,
        "category": info.category,
        "brand": info.brand,
        "price": None if info.price is None else str(info.price),
    }


class CampaignView(ServesWithoutDatabase):
    """The campaign for the current visitor: the highest-priority campaign running now whose
    segments hold them (or aimed at everyone), unless they are in its holdout or have reached
    its frequency cap today. Each answer with a campaign counts as one showing."""

    permission_classes = [AllowAny]
    throttle_classes = [OptionalScopedRateThrottle]
    throttle_scope = "recommendations"

    @extend_schema(
        parameters=[CampaignQuerySerializer],
        responses={
            200: CampaignResponseSerializer,
            400: OpenApiResponse(
                PARAMETER_ERRORS,
                description="A query parameter is invalid: each parameter at fault with its "
                "messages.",
            ),
            429: OpenApiResponse(
                DetailSerializer, description="Throttled (when a rate is configured)."
            ),
        },
    )
    def get(self, request: Request) -> Response:
        query = CampaignQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        campaign = campaign_for(request._request)
        if campaign is None:
            return Response({"campaign": None})
        presented = present(
            request._request, campaign, limit=params.get("limit"), item_id=params.get("item")
        )
        return Response({"campaign": as_json(presented)})
