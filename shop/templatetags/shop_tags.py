"""Template helpers of the storefront."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString
from django.utils.text import slugify

from shop.models import Product
from shop.placeholders import product_svg

register = template.Library()


@register.simple_tag
def product_image(product: Product, size: int = 240) -> SafeString:
    return product_svg(product.title, product.category.slug, size=size)


@register.simple_tag
def item_image(item, size: int = 160) -> SafeString:
    """The placeholder picture of a recommended item (an ItemInfo from the recommendations app)."""
    return product_svg(item.title, slugify(item.category), size=size)


@register.simple_tag(takes_context=True)
def page_url(context: template.Context, page: int) -> str:
    """The current URL's query string with ``page`` replaced, so sorting and search survive paging."""
    query = context["request"].GET.copy()
    query["page"] = page
    return f"?{query.urlencode()}"
