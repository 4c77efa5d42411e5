"""Admin for the catalogue and orders, tuned for a catalogue of thousands and orders in the 100k."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from .demo_services import tasks_run_in_a_worker
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
    """Orders are records of what happened: only their status (a refund, a cancellation) is a
    staff decision to edit; orders come from checkout or an import, never from this form."""

    list_display = ["number", "created", "status", "total", "user", "email"]
    readonly_fields = ["number", "user", "email", "total", "created"]
    list_filter = ["status", "created"]
    search_fields = ["number", "email", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    date_hierarchy = "created"
    inlines = [OrderLineInline]
    # The paginator's COUNT(*) over an imported order table is slow on SQLite; skip it.
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    """Read-only, like the order's inline: a line is what was paid for (the purchase events that
    trained the models were recorded from it), so changing one would rewrite history."""

    list_display = ["order", "product", "quantity", "unit_price"]
    list_select_related = ["order", "product"]
    search_fields = ["order__number", "product__sku", "product__title"]
    raw_id_fields = ["order", "product"]
    readonly_fields = ["order", "product", "quantity", "unit_price"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OrderLine | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OrderLine | None = None) -> bool:
        return False


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class HonestPeriodicTaskAdmin(PeriodicTaskAdmin):
    """django-celery-beat's admin, whose "Run selected tasks" says only what happened.

    The original answers "1 task was successfully run" as soon as a message is sent, whether or
    not anything will ever consume it. Here, with a worker's broker the tasks are queued and the
    message says so (and warns when no worker answers a ping); without one (eager Celery on the
    ``memory://`` broker) they run in this process and each result or failure is reported.
    """

    @admin.action(description="Run selected tasks")
    def run_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        app = self.celery_app
        app.loader.import_default_modules()
        in_worker = tasks_run_in_a_worker()
        planned = []
        for periodic in queryset:
            task = app.tasks.get(periodic.task)
            if task is None:
                self.message_user(
                    request, f"Task {periodic.task!r} is not registered.", messages.ERROR
                )
                return
            args, kwargs = json.loads(periodic.args or "[]"), json.loads(periodic.kwargs or "{}")
            planned.append((periodic, task, args, kwargs))
        for periodic, task, args, kwargs in planned:
            headers = {"periodic_task_name": periodic.name}
            if not in_worker:
                result = task.apply(args=args, kwargs=kwargs, headers=headers, throw=False)
                if result.failed():
                    self.message_user(
                        request, f"{periodic.name} failed: {result.result!r}", messages.ERROR
                    )
                else:
                    self.message_user(
                        request, f"{periodic.name} ran in this process: {result.result!r}"
                    )
                continue
            options = {"queue": periodic.queue} if periodic.queue else {}
            task.apply_async(args=args, kwargs=kwargs, headers=headers, **options)
        if not in_worker:
            return
        count = len(planned)
        queued = f"{count} task{'s' if count != 1 else ''} queued for the Celery worker"
        if app.control.ping(timeout=1.0, limit=1):
            self.message_user(request, f"{queued}; results appear in the worker's log.")
        else:
            self.message_user(
                request,
                f"{queued}, but no worker answered: they run once one starts "
                "(make demo starts one).",
                messages.WARNING,
            )
