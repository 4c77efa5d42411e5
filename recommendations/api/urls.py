from django.urls import path

from . import views

urlpatterns = [
    path("events/", views.EventBatchView.as_view(), name="events"),
    path(
        "recommendations/<str:slot>/", views.RecommendationsView.as_view(), name="recommendations"
    ),
]
