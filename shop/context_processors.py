"""Template context every storefront page needs: the category menu and the cart badge."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .cart import Cart
from .models import Category


def shop(request: HttpRequest) -> dict[str, Any]:
    """Lazy where it costs: the category query runs only on pages that render the menu."""
    return {
        "nav_categories": Category.objects.only("name", "slug"),
        "cart_count": len(Cart(request)) if hasattr(request, "session") else 0,
    }
