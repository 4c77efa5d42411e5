"""Serializers of the REST API."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from recommendations.conf import app_settings
from recommendations.serving.types import Slot


class RecommendationQuerySerializer(serializers.Serializer):
    """Query parameters of the recommendations endpoint."""

    item = serializers.CharField(required=False, max_length=64)
    limit = serializers.IntegerField(required=False, min_value=1)
    as_user = serializers.IntegerField(required=False, min_value=1)

    def validate_limit(self, value: int) -> int:
        if value > app_settings.MAX_LIMIT:
            raise serializers.ValidationError(
                f"Ensure this value is less than or equal to {app_settings.MAX_LIMIT}."
            )
        return value

    def validate_as_user(self, value: int):
        request = self.context["request"]
        if not (request.user.is_authenticated and request.user.is_staff):
            raise serializers.ValidationError(
                "Only staff may preview another user's recommendations."
            )
        try:
            return get_user_model()._default_manager.get(pk=value)
        except get_user_model().DoesNotExist:
            raise serializers.ValidationError(f"No user with id {value}.") from None


class ReasonSerializer(serializers.Serializer):
    kind = serializers.CharField()
    about = serializers.CharField()
    text = serializers.CharField()


class RecommendedItemSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    item_id = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField()
    category = serializers.CharField()
    brand = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    score = serializers.FloatField()
    reason = ReasonSerializer()


class RecommendationsSerializer(serializers.Serializer):
    slot = serializers.ChoiceField(choices=[s.value for s in Slot])
    token = serializers.CharField(
        help_text="Send it back in the context of impression and click events."
    )
    degraded = serializers.BooleanField(
        help_text="True when a fallback (popularity) had to be served."
    )
    items = RecommendedItemSerializer(many=True)
