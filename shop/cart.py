"""The session cart.

The cart lives in the session as ``{product_pk: quantity}`` so that guests can shop without an
account and nothing is written to the catalogue tables until checkout. Every change is announced
through the recommendations app's cart signals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.http import HttpRequest

from recommendations.signals import cart_item_added, cart_item_removed

from .models import Product

SESSION_KEY = "shop_cart"
MAX_QUANTITY = 99


class CartError(ValueError):
    """A cart change the shopper must be told about (out of stock, not enough left)."""


@dataclass(frozen=True, slots=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def line_total(self) -> Decimal:
        return self.product.price * self.quantity


def lines_total(lines: list[CartLine]) -> Decimal:
    return sum((line.line_total for line in lines), Decimal("0.00"))


class Cart:
    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.session = request.session
        raw = self.session.get(SESSION_KEY) or {}
        self._items: dict[str, int] = {str(k): int(v) for k, v in raw.items()}

    def __len__(self) -> int:
        """Number of units, as shown on the header's cart badge."""
        return sum(self._items.values())

    def quantity_of(self, product: Product) -> int:
        return self._items.get(str(product.pk), 0)

    def add(self, product: Product, quantity: int = 1) -> None:
        if quantity < 1:
            raise CartError("Quantity must be at least 1.")
        self._set(product, self.quantity_of(product) + quantity)

    def update(self, product: Product, quantity: int) -> None:
        """Set the quantity; zero removes the line."""
        if quantity < 0:
            raise CartError("Quantity cannot be negative.")
        self._set(product, quantity)

    def remove(self, product: Product) -> None:
        self._set(product, 0)

    def clear(self) -> None:
        """Empty the cart after checkout; this is not a removal the shopper chose, so no signal."""
        self._items = {}
        self._save()

    def lines(self) -> list[CartLine]:
        """Lines for products that can still be sold; vanished or hidden products drop out."""
        products = Product.objects.active().select_related("category").in_bulk(self._items.keys())
        return [
            CartLine(product=products[int(pk)], quantity=qty)
            for pk, qty in self._items.items()
            if int(pk) in products
        ]

    def _set(self, product: Product, quantity: int) -> None:
        current = self.quantity_of(product)
        if quantity > current:
            if not product.active or not product.in_stock:
                raise CartError(f"Sorry, {product.title} is out of stock.")
            if quantity > product.stock:
                raise CartError(f"Only {product.stock} of {product.title} left in stock.")
            if quantity > MAX_QUANTITY:
                raise CartError(f"At most {MAX_QUANTITY} of one product per order.")
        if quantity == current:
            return
        key = str(product.pk)
        if quantity:
            self._items[key] = quantity
        else:
            self._items.pop(key, None)
        self._save()
        signal = cart_item_added if quantity > current else cart_item_removed
        signal.send(
            sender=Cart,
            request=self.request,
            item_id=key,
            quantity=abs(quantity - current),
        )

    def _save(self) -> None:
        self.session[SESSION_KEY] = self._items
        self.session.modified = True
