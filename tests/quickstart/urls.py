from django.urls import include, path

urlpatterns = [
    path("", include("tests.quickstart.catalogue.urls")),
    path("recommendations/", include("recommendations.urls")),
]
