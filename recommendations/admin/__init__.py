"""Django admin for the app: one module per area."""

from . import events  # noqa: F401  (registers the ModelAdmins)
