"""Template helpers of the storefront."""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace

from django import template
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.utils.translation import get_language

from shop.models import Product
from shop.placeholders import product_svg

register = template.Library()


@register.simple_tag
def product_image(product: Product, size: int = 240) -> SafeString:
    return product_svg(product.title, product.category.slug, size=size)


@register.simple_tag
def item_image(item, size: int = 160) -> SafeString:
    """The placeholder picture of a recommended item (an ItemInfo from the recommendations app)."""
    return product_svg(item.title, _category_slug(item.category), size=size)


@lru_cache(maxsize=1024)
def _category_slug(name: str) -> str:
    return slugify(name)


@register.simple_tag(takes_context=True)
def recommendation_card(context: template.Context, item, reason_text: str, next_path: str):
    """One recommended product's card (picture, title, reason, price, add-to-cart form).

    The card depends only on what it shows, so a process renders each distinct card once: a
    visitor's "recently viewed" block is rendered for every page they open, from items whose
    cards are mostly the same as on their last page. The form's CSRF token is whatever the
    context holds (inside a recommendations slot a placeholder, replaced per request), and part
    of the key, as is the language."""
    return _card(
        item.item_id,
        item.title,
        item.category,
        item.url,
        item.price,
        item.in_stock,
        reason_text,
        next_path,
        str(context.get("csrf_token", "")),
        get_language(),  # numbers are formatted for the request's language
    )


@lru_cache(maxsize=4096)
def _card(
    item_id: str,
    title: str,
    category: str,
    url: str,
    price: object,
    in_stock: bool,
    reason_text: str,
    next_path: str,
    csrf_token: str,
    language: str | None,
) -> SafeString:
    item = {
        "item_id": item_id,
        "title": title,
        "category": category,
        "url": url,
        "price": price,
        "in_stock": in_stock,
    }
    return mark_safe(  # rendered by the template engine, which escaped it
        get_template("shop/_recommendation_card.html").render(
            {
                "item": SimpleNamespace(**item),
                "reason_text": reason_text,
                "next": next_path,
                "csrf_token": csrf_token,
            }
        )
    )


@register.simple_tag(takes_context=True)
def page_url(context: template.Context, page: int) -> str:
    """The current URL's query string with ``page`` replaced, so sorting and search survive paging."""
    query = context["request"].GET.copy()
    query["page"] = page
    return f"?{query.urlencode()}"
