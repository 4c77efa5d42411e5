"""Django admin for the app: one module per area."""

from . import events, merchandising, quarantine, registry  # noqa: F401  (registers the ModelAdmins)
