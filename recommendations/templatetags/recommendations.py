"""``{% load recommendations %}``: the tags a store's templates use."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html

from recommendations.serving.rendering import render_slot

register = template.Library()


@register.simple_tag
def recommendations_beacon() -> str:
    """The script that sends impressions, clicks and ``recommendations.track(...)`` calls.

    Put it once in the base template; it is small, deferred, and served by the app itself.
    """
    return format_html(
        '<script src="{}" data-endpoint="{}" defer></script>',
        static("recommendations/beacon.js"),
        reverse("recommendations:events"),
    )


@register.simple_tag(takes_context=True)
def recommendations(
    context: template.Context,
    slot: str,
    item: object = None,
    limit: int | None = None,
    title: str = "",
) -> str:
    """Render a slot: ``{% recommendations "similar" item=product.pk limit=4 title="You may also like" %}``.

    Uses ``recommendations/slots/<slot>.html`` if the project has one, else
    ``recommendations/slot.html``. Anonymous lists without a cart are cached for
    ``TEMPLATE_CACHE_SECONDS`` (they are the same for every such visitor); personal ones never.
    The rendered items carry ``data-rec-*`` attributes for the beacon's impressions and clicks.
    """
    request = context.get("request")
    if request is None:
        raise template.TemplateSyntaxError(
            "{% recommendations %} needs the request context processor."
        )
    return render_slot(
        request, slot, item_id=None if item is None else str(item), limit=limit, title=title
    )
