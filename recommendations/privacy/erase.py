"""Erasing a person (GDPR Art. 17): suppress, purge every store, refresh aggregates, verify.

Order matters:

1. **Suppress** first, committed on its own: from then on tracking refuses the person's user id
   and visitor cookies, and ingest drops their events, so nothing new arrives during the purge
   and a replayed stream message cannot bring them back later.
2. **Take the training lease**, so no run saves a state (read before the purge) after the files
   were rewritten. When a run holds it past ``wait`` seconds, the erase stays ``pending`` with
   the reason; calling :func:`erase` again for the same person continues that request.
3. **Purge** the database, Redis, training states and artifacts (:mod:`.database`,
   :mod:`.live_state`, :mod:`.files`).
4. **Refresh what is derived from events**: popular and trending lists from the remaining
   events, the live trending counters minus the person's contributions, also-viewed lists from
   the rewritten training state.
5. **Verify**: scan again (:func:`~.verify.find_references`); ``completed`` with
   ``verified_at`` when nothing is found (a second purge runs once if something was, e.g. an
   ingest batch that passed its check just before the suppression committed), ``failed`` with
   the stores named otherwise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.utils import timezone

from recommendations import suppression
from recommendations.models import ErasureRequest, Event, Suppression
from recommendations.training.lease import training_lease

from .database import purge_rows
from .files import purge_files
from .live_state import purge_live
from .subject import Subject, resolve
from .verify import find_references

logger = logging.getLogger("recommendations.privacy")

Progress = Callable[[str], None]
Status = ErasureRequest.Status


class ErasureBusy(Exception):
    """A training run held the lease for longer than the erase would wait; the request is
    pending (``request``) and the person already suppressed. Erase again to finish it."""

    def __init__(self, request: ErasureRequest) -> None:
        super().__init__(request.message)
        self.request = request


def erase(
    *,
    user_id: int | None = None,
    visitor_id: str | None = None,
    extra_visitors: tuple[str, ...] = (),
    via: str = ErasureRequest.Via.CODE,
    requested_by: Any = None,
    wait: float = 0.0,
    progress: Progress | None = None,
) -> ErasureRequest:
    """Erase a user (with all their visitor ids, plus ``extra_visitors``) or a bare visitor id.

    Returns the request, ``completed`` or ``failed``; raises :class:`ErasureBusy` when a training
    run kept the lease for ``wait`` seconds. ``progress`` is told each step as it starts.
    """
    say = progress or (lambda message: None)
    subject = resolve(user_id=user_id, visitor_id=visitor_id, extra_visitors=extra_visitors)
    request = _open_request(subject, via, requested_by)
    say(f"Suppressing {len(subject.digests)} identifier(s)")
    suppress(subject, request)
    try:
        with _lease(wait, request):
            counts = _purge(subject, say)
            found = find_references(subject)
            if found:
                logger.warning("Erasure #%s: found again after the purge: %s", request.pk, found)
                counts = _merge_counts(counts, _purge(subject, say))
    except ErasureBusy:
        raise
    except Exception as exc:
        request.message = f"{type(exc).__name__}: {exc}"[:2000]
        request.save(update_fields=["message"])
        raise
    say("Refreshing popularity, trending and also-viewed lists")
    counts["aggregates"] = refresh_aggregates(
        files_changed=bool(counts["files"]["training_states"])
    )
    say("Verifying: scanning every store again")
    found = find_references(subject)
    now = timezone.now()
    request.counts = counts
    request.completed_at = now
    if found:
        request.status = Status.FAILED
        request.message = "Still found in: " + "; ".join(found)
    else:
        request.status = Status.COMPLETED
        request.verified_at = now
        request.message = ""
    request.save()
    return request


def _open_request(subject: Subject, via: str, requested_by: Any) -> ErasureRequest:
    pending = ErasureRequest.objects.filter(
        subject_digest=subject.digest, status=Status.PENDING
    ).first()
    if pending is not None:
        return pending
    if (
        requested_by is not None
        and subject.user_id is not None
        and requested_by.pk == subject.user_id
    ):
        requested_by = None  # a staff member erasing themselves: no row pointing at them
    return ErasureRequest.objects.create(
        subject_digest=subject.digest,
        subject_kind=subject.kind,
        via=via,
        requested_by=requested_by,
    )


def suppress(subject: Subject, request: ErasureRequest | None = None) -> int:
    """Put the person's user id and visitor ids on the suppression list (committed at once, so
    every process refuses them from its next look); returns the entries added."""
    with transaction.atomic():
        created = Suppression.objects.bulk_create(
            [
                Suppression(digest=digest, kind=kind, request=request)
                for digest, kind in subject.digests.items()
            ],
            ignore_conflicts=True,
        )
    suppression.clear_cache()
    return len(created)


@contextmanager
def _lease(wait: float, request: ErasureRequest) -> Iterator[None]:
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        with training_lease() as held:
            if held is not False:
                yield
                return
        if time.monotonic() >= deadline:
            request.message = (
                "A training run is in progress; the person is suppressed, and their data will "
                "be purged when the erase is run again after the run."
            )
            request.save(update_fields=["message"])
            raise ErasureBusy(request)
        time.sleep(min(1.0, max(deadline - time.monotonic(), 0.0)))


def _purge(subject: Subject, say: Progress) -> dict[str, Any]:
    trending = [
        (item_id, kind, ts.timestamp())
        for item_id, kind, ts in Event.objects.filter(subject.events_filter())
        .exclude(item_id="")
        .values_list("item_id", "kind", "ts")
        .iterator(chunk_size=5000)
    ]
    say("Purging database rows")
    database = purge_rows(subject)
    say("Purging Redis keys, lists and stream messages")
    live = purge_live(subject, trending)
    say("Rewriting training states and model artifacts")
    files = purge_files(subject)
    return {"database": database, "redis": live, "files": files}


def _merge_counts(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    return {
        store: {
            name: first.get(store, {}).get(name, 0) + second.get(store, {}).get(name, 0)
            for name in {*first.get(store, {}), *second.get(store, {})}
        }
        for store in {*first, *second}
    }


def refresh_aggregates(*, files_changed: bool) -> dict[str, int]:
    """Rewrite what was computed from the events that are now gone."""
    from recommendations.popularity import computed_popularity
    from recommendations.precompute import refresh_also_viewed, refresh_popularity
    from recommendations.stores import get_store

    written: dict[str, int] = dict(refresh_popularity())
    for decay in (False, True):  # the shared cache serving reads for a minute
        computed_popularity(decay=decay, use_cache=False)
    if files_changed:
        from recommendations.training.state import latest_state

        store = get_store()
        before = [key for key in store.keys("item:") if key.endswith(":also-viewed")]
        loaded = latest_state()
        written["also_viewed"] = refresh_also_viewed(loaded) if loaded is not None else 0
        label = f"views-{loaded[0].pk}" if loaded is not None else None
        stale = [key for key, (_, was) in store.get_many_labelled(before).items() if was != label]
        for key in stale:  # pairs no longer seen together often enough without the person
            store.delete_prefix(key)
        written["also_viewed_removed"] = len(stale)
    return written
