"""Create or update the demo's superuser and say how to log in."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

ADMIN_URL = "http://127.0.0.1:8000/admin/"
USERNAME = "admin"


class Command(BaseCommand):
    help = (
        "Create or update the superuser 'admin'. The password comes from DEMO_ADMIN_PASSWORD, "
        "or a random one is generated; the admin URL and credentials are printed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        if len(password) < 8:
            raise CommandError("DEMO_ADMIN_PASSWORD must be at least 8 characters long.")
        user, created = User.objects.get_or_create(
            username=USERNAME, defaults={"email": "admin@example.com"}
        )
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            self.style.SUCCESS(f"{'Created' if created else 'Updated'} superuser '{USERNAME}'.")
        )
        self.stdout.write(f"Admin:    {ADMIN_URL}")
        self.stdout.write(f"Username: {USERNAME}")
        self.stdout.write(f"Password: {password}")
