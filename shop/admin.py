"""Admin for the catalogue and orders, tuned for a catalogue of thousands and orders in the 100k."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from .models import Category, Order, OrderLine, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "product_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        return super().get_queryset(request).annotate(_product_count=Count("products"))

    @admin.display(description="Products", ordering="_product_count")
    def product_count(self, obj: Category) -> int:
        return obj._product_count


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "title", "category", "brand", "price", "stock", "active", "created"]
    list_display_links = ["sku", "title"]
    list_editable = ["price", "stock", "active"]
    list_filter = ["active", "category", "created"]
    list_select_related = ["category"]
    search_fields = ["sku", "title", "brand", "tags"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "created"
    list_per_page = 50
    actions = ["make_active", "make_inactive"]

    @admin.action(description="Show selected products in the store")
    def make_active(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        self.message_user(request, f"{queryset.update(active=True)} products shown.")

    @admin.action(description="Hide selected products from the store")
    def make_inactive(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        self.message_user(request, f"{queryset.update(active=False)} products hidden.")


class OrderLineInline(admin.TabularInline):
    """Read-only: lines are what was paid for; editing them would contradict the total.

    Imported invoices have up to a thousand lines, so rows are plain text, not widgets.
    """

    model = OrderLine
    fields = ["product", "quantity", "unit_price"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderLine]:
        return super().get_queryset(request).select_related("product")

    def has_add_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "created", "status", "total", "user", "email"]
    list_filter = ["status", "created"]
    search_fields = ["number", "email", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    date_hierarchy = "created"
    inlines = [OrderLineInline]
    # The paginator's COUNT(*) over an imported order table is slow on SQLite; skip it.
    show_full_result_count = False


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ["order", "product", "quantity", "unit_price"]
    list_select_related = ["order", "product"]
    search_fields = ["order__number", "product__sku", "product__title"]
    raw_id_fields = ["order", "product"]
    show_full_result_count = False
