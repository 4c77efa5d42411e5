"""Serializers of the REST API."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework import serializers

from recommendations.conf import app_settings
from recommendations.tracking.beacon import BEACON_KINDS, CONTEXT_MAX_KEYS, SENT_AT_MAX
from recommendations.types import Slot

#: The permission ``as_user`` needs (a ``Meta.permissions`` entry of ``Event``).
PREVIEW_PERMISSION = "recommendations.preview_as_user"


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

    def validate_as_user(self, value: int) -> AbstractBaseUser:
        request = self.context["request"]
        # A permission of its own, not is_staff: staff accounts for catalogue or order work
        # must not read what a customer looked at. Superusers have it; the view logs each use.
        if not request.user.has_perm(PREVIEW_PERMISSION):
            raise serializers.ValidationError(
                "Previewing another user's recommendations needs the "
                f"{PREVIEW_PERMISSION!r} permission."
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
    rules = serializers.CharField(
        help_text="Ids of the merchandising rules that placed or moved the item, comma-separated "
        "(\"\" when none): send it back as the impression's and click's `context.rules`, so that "
        "admin can report per rule."
    )


class RecommendationsSerializer(serializers.Serializer):
    slot = serializers.ChoiceField(choices=[s.value for s in Slot])
    token = serializers.CharField(
        help_text="Send it back in the context of impression and click events."
    )
    degraded = serializers.BooleanField(
        help_text="True when a fallback (popularity) had to be served."
    )
    items = RecommendedItemSerializer(many=True)


# The beacon validates with pydantic (tracking/beacon.py); the serializers below only document its
# request and responses in the OpenAPI schema, and tests/tracking/test_beacon_schema.py keeps the
# two from drifting apart.


class BeaconEventSerializer(serializers.Serializer):
    event_id = serializers.UUIDField(
        help_text="Chosen by the client; a resent event with the same id is stored once."
    )
    kind = serializers.ChoiceField(
        choices=list(BEACON_KINDS),
        help_text="Purchases are not accepted here: they come from the store's order signal.",
    )
    item_id = serializers.CharField(
        required=False,
        allow_null=True,
        min_length=1,
        max_length=64,
        help_text="The store's product key; required for every kind except search, and except "
        "the impressions and clicks of a campaign's banner (a `campaign.` token in the context).",
    )
    value = serializers.FloatField(
        required=False, allow_null=True, help_text="A rating's stars, 1 to 5."
    )
    ts = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When it happened (ISO 8601 with a timezone); the server's time when left out.",
    )
    # Declared fields leave the class for ``_declared_fields``; the stubs see them shadow
    # ``Field.context`` (and ``Serializer.errors`` below).
    context = serializers.DictField(  # type: ignore[assignment]
        required=False,
        help_text=f"Flat: at most {CONTEXT_MAX_KEYS} keys, string/number/boolean/null values.",
    )


class EventBatchSerializer(serializers.Serializer):
    # min_length (DRF's ListSerializer, documented as minItems) is unknown to the stubs.
    events = BeaconEventSerializer(  # type: ignore[call-arg]
        many=True,
        allow_empty=False,
        min_length=1,
        help_text="At most BEACON_MAX_EVENTS events (setting, 100 by default); all or nothing.",
    )
    sent_at = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=SENT_AT_MAX - 1,
        help_text=(
            "The client's clock when it sent the batch, in milliseconds since the epoch. Each "
            "event's ts is then corrected to received - (sent_at - ts), so a wrong client clock "
            "loses nothing; an event moved by a second or more gets context.clock_skew_ms. "
            "Without it, ts is taken as it is."
        ),
    )


class EventsAcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(
        min_value=0, help_text="Events stored or safely queued (duplicates count once)."
    )
    duplicates = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Events left out because their event_id came earlier in the same batch.",
    )
    tracking = serializers.ChoiceField(
        choices=["declined", "quarantined"],
        required=False,
        help_text="Present when nothing was stored: no consent, or the client counts as a bot.",
    )


class BeaconErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The field at fault, e.g. item_id or context.")
    message = serializers.CharField()
    index = serializers.IntegerField(
        required=False,
        min_value=0,
        help_text="Position of the event in the batch; absent for problems of the whole body.",
    )


class EventsRejectedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = BeaconErrorSerializer(many=True, help_text="One entry per problem found.")  # type: ignore[assignment]


class DetailSerializer(serializers.Serializer):
    """DRF's error body, and the beacon's 503."""

    detail = serializers.CharField()
