from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Demo store"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from recommendations.signals import order_held, risk_reviewed

        from .checkout import hold_order, release_reviewed_order

        order_held.connect(hold_order, dispatch_uid="shop.hold_order")
        risk_reviewed.connect(release_reviewed_order, dispatch_uid="shop.release_reviewed_order")
