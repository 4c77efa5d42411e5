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
