"""Include with ``path("recommendations/", include("recommendations.urls"))``."""

from django.urls import include, path

app_name = "recommendations"

urlpatterns = [
    path("api/", include("recommendations.api.urls")),
]
