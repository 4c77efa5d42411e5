from django.urls import path

from . import campaigns, privacy, views

urlpatterns = [
    path("events/", views.EventBatchView.as_view(), name="events"),
    path(
        "recommendations/<str:slot>/", views.RecommendationsView.as_view(), name="recommendations"
    ),
    path("campaign/", campaigns.CampaignView.as_view(), name="campaign"),
    path("privacy/export/", privacy.PrivacyExportView.as_view(), name="privacy-export"),
    path("privacy/erase/", privacy.PrivacyEraseView.as_view(), name="privacy-erase"),
]
