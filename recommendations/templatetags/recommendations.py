"""``{% load recommendations %}``: the tags a store's templates use."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html

from recommendations.catalog import get_catalog
from recommendations.serving.rendering import mark_on_page, render_slot

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
    fallback_title: str | None = None,
    exclude_shown: bool = True,
) -> str:
    """Render a slot: ``{% recommendations "similar" item=product.pk limit=4 title="You may also like" %}``.

    Uses ``recommendations/slots/<slot>.html`` if the project has one, else
    ``recommendations/slot.html``. Anonymous lists without a cart are cached for
    ``TEMPLATE_CACHE_SECONDS`` (they are the same for every such visitor); personal ones never.
    The rendered items carry ``data-rec-*`` attributes for the beacon's impressions and clicks.

    Items that earlier slots of the page (or ``recommendations_shown``) showed are left out, so
    the blocks of one page never repeat each other; ``exclude_shown=False`` opts out. When the
    slot's own source has nothing and only trending or popular items fill it, ``title`` gives way
    to ``fallback_title`` (``""`` hides the slot; by default "Popular right now").
    """
    return render_slot(
        _request(context, "recommendations"),
        slot,
        item_id=None if item is None else str(item),
        limit=limit,
        title=title,
        fallback_title=fallback_title,
        exclude_shown=exclude_shown,
    )


@register.simple_tag(takes_context=True)
def recommendations_shown(context: template.Context, products: object) -> str:
    """Tell later slots of the page which products the store's own blocks already show:
    ``{% recommendations_shown bestsellers %}`` or ``{% recommendations_shown product %}``
    (products, item ids, or a list of either). Renders nothing."""
    key_field = get_catalog().key_field
    if products is None or isinstance(products, str | int) or not isinstance(products, Iterable):
        products = [] if products is None else [products]
    mark_on_page(
        _request(context, "recommendations_shown"),
        (
            str(product) if isinstance(product, str | int) else str(getattr(product, key_field))
            for product in products
        ),
    )
    return ""


def _request(context: template.Context, tag: str) -> HttpRequest:
    request = context.get("request")
    if request is None:
        raise template.TemplateSyntaxError(f"{{% {tag} %}} needs the request context processor.")
    return request
