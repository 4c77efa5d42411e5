"""``{% load recommendations %}``: the tags a store's templates use."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html

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
