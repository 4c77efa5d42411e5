"""Django admin for the app: one module per area."""

from . import (  # noqa: F401  (registers the ModelAdmins)
    campaigns,
    events,
    experiments,
    fraud,
    insights,
    merchandising,
    privacy,
    quarantine,
    registry,
    segments,
)
