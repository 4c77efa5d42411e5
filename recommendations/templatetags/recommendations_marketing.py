"""``{% load recommendations_marketing %}``: the campaign a store's page shows its visitor.

A library of its own beside ``recommendations`` (slots) and ``recommendations_admin``: a store
that runs no campaigns never loads it.
"""

from __future__ import annotations

import logging

from django import template
from django.template.loader import select_template
from django.utils.safestring import SafeString, mark_safe

from recommendations.api.campaigns import present
from recommendations.marketing.campaigns.content import safe_link
from recommendations.marketing.campaigns.selection import campaign_for
from recommendations.serving.rendering import mark_on_page

register = template.Library()
logger = logging.getLogger("recommendations.marketing")


@register.simple_tag(takes_context=True)
def recommendations_campaign(
    context: template.Context, limit: int | None = None, item: object = None
) -> SafeString:
    """Render the visitor's campaign: ``{% recommendations_campaign limit=4 %}``, or nothing.

    Uses ``recommendations/campaigns/<key>.html`` if the project has one, else
    ``recommendations/campaign.html``. The banner and items carry ``data-rec-*`` attributes with
    the campaign's token, so the beacon's impressions and clicks are credited to it; products it
    shows are left out of the page's later slots. Never personal-cached: each render is one
    showing, counted against the frequency cap.
    """
    request = context.get("request")
    if request is None:
        raise template.TemplateSyntaxError(
            "{% recommendations_campaign %} needs the request context processor."
        )
    campaign = campaign_for(request)
    if campaign is None:
        return SafeString("")
    try:
        presented = present(
            request, campaign, limit=limit, item_id=None if item is None else str(item)
        )
        html = select_template(
            [f"recommendations/campaigns/{campaign.key}.html", "recommendations/campaign.html"]
        ).render(
            {
                "campaign": campaign,
                "content": presented.content,
                "link": safe_link(campaign.link_url),
            },
            request,
        )
    except Exception:  # a banner never fails the page
        logger.exception("Campaign %s could not be rendered", campaign.key)
        return SafeString("")
    mark_on_page(request, (info.item_id for info in presented.content.items))
    return mark_safe(html)
