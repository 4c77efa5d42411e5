"""Django admin for the app: one module per area."""

from . import (  # noqa: F401  (registers the ModelAdmins)
    events,
    experiments,
    merchandising,
    privacy,
    quarantine,
    registry,
)
