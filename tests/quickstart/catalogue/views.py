"""A product page and a one-click checkout: just enough store to send what the quick start asks."""

from __future__ import annotations

import itertools

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from recommendations import signals

from .models import Product

_order_ids = itertools.count(1)


def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=pk)
    return render(request, "catalogue/product_detail.html", {"product": product})


@require_POST
def buy(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=pk)
    signals.cart_item_added.send(
        sender=Product, request=request, item_id=str(product.pk), quantity=1
    )
    user = request.user if request.user.is_authenticated else None
    signals.order_placed.send(
        sender=Product,
        request=request,
        order_id=next(_order_ids),
        user=user,
        lines=[(str(product.pk), 1, product.price)],
    )
    return HttpResponse("thank you")
