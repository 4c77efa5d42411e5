from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = "Recommendations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import checks, receivers  # noqa: F401  (connects receivers, registers checks)
        from .schedules import install_after_migrate

        post_migrate.connect(
            install_after_migrate, sender=self, dispatch_uid="recommendations.schedules"
        )
        from .fraud.rules import install_after_migrate as install_risk_rules

        post_migrate.connect(
            install_risk_rules, sender=self, dispatch_uid="recommendations.risk_rules"
        )
        self._watch_products()

    def _watch_products(self) -> None:
        """Product saves and deletes invalidate the serving processes' catalogue copies; a saved
        product gets content neighbours until a model has some for it."""
        from django.core.exceptions import ImproperlyConfigured
        from django.db.models.signals import post_delete, post_save

        from .catalog import get_catalog, items_changed
        from .receivers import queue_content_neighbours

        try:
            model = get_catalog().model
        except (ImproperlyConfigured, LookupError, ImportError):
            return  # reported by the system checks
        post_save.connect(items_changed, sender=model, dispatch_uid="recommendations.product_saved")
        post_save.connect(
            queue_content_neighbours,
            sender=model,
            dispatch_uid="recommendations.product_content_neighbours",
        )
        post_delete.connect(
            items_changed, sender=model, dispatch_uid="recommendations.product_deleted"
        )
