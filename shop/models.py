"""The store's catalogue and orders.

Products are keyed by their integer primary key towards the recommendations app (``item_id`` is
``str(product.pk)``); ``sku`` is the merchant's own code and what imports match on.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class Category(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("shop:category", kwargs={"slug": self.slug})


class ProductQuerySet(models.QuerySet):
    def active(self) -> ProductQuerySet:
        return self.filter(active=True)


class Product(models.Model):
    sku = models.CharField("SKU", max_length=32, unique=True)
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    brand = models.CharField(max_length=100, blank=True)
    tags = models.CharField(max_length=255, blank=True, help_text="Comma-separated keywords.")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True, help_text="Inactive products are hidden everywhere.")
    created = models.DateTimeField(default=timezone.now)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        indexes = [
            models.Index(fields=["category", "active", "title"], name="shop_product_cat_listing"),
            models.Index(fields=["active", "-created"], name="shop_product_new_arrivals"),
            models.Index(fields=["brand"], name="shop_product_brand"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.sku})"

    def get_absolute_url(self) -> str:
        return reverse("shop:product_detail", kwargs={"pk": self.pk})

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def tag_list(self) -> list[str]:
        return [tag.strip() for tag in self.tags.split(",") if tag.strip()]


class Order(models.Model):
    class Status(models.TextChoices):
        PAID = "paid", "Paid"
        DECLINED = "declined", "Declined"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"

    #: Orders whose purchases must not teach recommendations (see ShopCatalog.excluded_orders).
    NOT_KEPT = (Status.CANCELLED, Status.REFUNDED)

    number = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
        help_text="Empty for guest checkouts and imported guest invoices.",
    )
    email = models.EmailField(blank=True)
    shipping_address = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PAID)
    held_for_review = models.BooleanField(
        default=False,
        help_text="Set when the risk score blocks the order: do not ship before it is reviewed.",
    )
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["user", "-created"], name="shop_order_user_history"),
            models.Index(fields=["status", "-created"], name="shop_order_status_created"),
            models.Index(fields=["-created"], name="shop_order_created"),
        ]

    def __str__(self) -> str:
        return f"Order {self.number}"

    def get_absolute_url(self) -> str:
        return reverse("shop:order_detail", kwargs={"number": self.number})


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    # PROTECT: a product that was ever sold stays, so that order history remains readable.
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product.title}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity
