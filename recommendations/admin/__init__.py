"""Django admin for the app: one module per area."""

from . import events, merchandising  # noqa: F401  (registers the ModelAdmins)
