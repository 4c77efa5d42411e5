"""Process-local caches, and the one way they are invalidated.

A web or worker process keeps a few things it has read, so that a recommendation request needs no
query: the catalogue lookups it made, the merchandising rules of each slot, the active models,
loaded artifacts, verdicts on visitor cookies. Each such cache registers here with the changes
that make it stale (:class:`Change`), and :func:`invalidate` clears, in this process, every cache
registered for a change. It is called where the change happens:

==============  ==============================================  ==================================
change          called by                                       other processes learn it from
==============  ==============================================  ==================================
``catalogue``   ``catalog.items_changed`` (product save/delete)  the catalogue version in Redis,
                                                                read on every lookup
``rules``       a rule saved or deleted                          ``merchandising.loading``'s
                                                                five-second expiry
``models``      a version promoted or rolled back (after        ``ACTIVE_MODEL_REFRESH_SECONDS``
                commit)
``experiments`` an experiment or variant saved or deleted        ``experiments.live``'s
                                                                five-second expiry
``campaigns``   a campaign saved or deleted (or its segments     ``marketing.campaigns.live``'s
                changed)                                        five-second expiry
``settings``    Django's ``setting_changed`` (tests, reloads)    -- (settings are per process)
==============  ==============================================  ==================================

``invalidate()`` with no change clears everything (tests, a shell after editing data by hand).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from django.core.signals import setting_changed


class Change(StrEnum):
    SETTINGS = "settings"
    CATALOGUE = "catalogue"
    RULES = "rules"
    MODELS = "models"
    EXPERIMENTS = "experiments"
    CAMPAIGNS = "campaigns"


_lock = threading.Lock()
_caches: dict[str, tuple[Callable[[], object], frozenset[Change]]] = {}


def register(name: str, clear: Callable[[], object], *changes: Change) -> None:
    """Make ``clear`` run when one of ``changes`` happens (every cache also clears on
    ``settings``). Registering a name again replaces it."""
    with _lock:
        _caches[name] = (clear, frozenset({*changes, Change.SETTINGS}))


def invalidate(*changes: Change) -> list[str]:
    """Clear this process's caches registered for any of ``changes`` (all without arguments);
    returns their names."""
    wanted = set(changes)
    with _lock:
        chosen = [
            (name, clear) for name, (clear, on) in _caches.items() if not wanted or on & wanted
        ]
    for _, clear in chosen:
        clear()
    return [name for name, _ in chosen]


def registered() -> dict[str, frozenset[Change]]:
    """Each registered cache and the changes it is cleared on (for docs and tests)."""
    with _lock:
        return {name: on for name, (_, on) in _caches.items()}


#: Settings that what the caches keep depends on; the last three for translated texts.
_CACHED_SETTINGS = frozenset(
    {"RECOMMENDATIONS", "SECRET_KEY", "STORAGES", "MEDIA_ROOT", "CACHES"}
    | {"LANGUAGE_CODE", "LANGUAGES", "LOCALE_PATHS"}
)


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in _CACHED_SETTINGS:
        invalidate(Change.SETTINGS)


setting_changed.connect(_settings_changed, dispatch_uid="recommendations.caches")
