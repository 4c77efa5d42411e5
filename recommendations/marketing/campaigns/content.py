"""What a campaign shows, as plain data for the template tag and the API.

A banner is its text, link and coupon. A product list is its products as the catalogue adapter
describes them now, in the campaign's order, without those that cannot be sold (inactive, out of
stock, deleted), the same exact filters serving applies. A recommendation slot's items come from
the serving pipeline, which this layer may not import: the shells fill them in
(``recommendations.api.campaigns.present``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import DatabaseError

from recommendations.catalog import ItemInfo, get_catalog
from recommendations.models import CampaignContent

from .live import LiveCampaign
from .tokens import token_for

logger = logging.getLogger("recommendations.marketing")


@dataclass
class Content:
    """One showing of a campaign; ``token`` is fresh per showing, like a slot's."""

    campaign: LiveCampaign
    token: str
    items: list[ItemInfo] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.campaign.content


def content_of(campaign: LiveCampaign, *, limit: int | None = None) -> Content:
    """The campaign's content; a slot campaign's ``items`` are left for the caller to fill."""
    content = Content(campaign=campaign, token=token_for(campaign.key))
    if campaign.content == CampaignContent.PRODUCTS:
        content.items = sellable_items(campaign.item_ids, limit=limit)
    return content


def sellable_items(item_ids: tuple[str, ...], *, limit: int | None = None) -> list[ItemInfo]:
    """``item_ids`` described, in order, sellable ones only; none while the catalogue is away."""
    try:
        described = get_catalog().describe(item_ids)
    except DatabaseError as exc:
        logger.warning("Catalogue unavailable (%s); campaign products not shown", exc)
        return []
    items = [
        info
        for item_id in dict.fromkeys(item_ids)
        if (info := described.get(item_id)) is not None and info.active and info.in_stock
    ]
    return items if limit is None else items[:limit]


def safe_link(url: str) -> str:
    """``url`` when it is a path on this site or an http(s) address, else ``""``: a banner must
    never carry a ``javascript:`` link (admin refuses one; this guards rows written otherwise)."""
    url = url.strip()
    if url.startswith("/") and not url.startswith("//"):
        return url
    return url if url.lower().startswith(("https://", "http://")) else ""
