"""``recommend()``: candidates → exact filters → merchandiser rules → diversity → exactly N → reasons.

Candidates come from the slot's sources (precomputed lists, the active model folded over the
visitor's recent items, neighbours of those items, trending); backfill follows in a fixed order —
trending in the current item's category, trending in the store, popular, then the catalogue
adapter's ``fallback_ids`` — so a list reaches ``limit`` whenever the catalogue has enough eligible
items. Slots about the visitor's own history (recently viewed, buy again) are not backfilled.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from django.db import DatabaseError
from django.utils import timezone
from django.utils.translation import get_language

from recommendations import fallbacks
from recommendations.catalog import ItemInfo, get_catalog
from recommendations.conf import app_settings
from recommendations.experiments.live import (
    EXPOSURE_DEDUPE_SECONDS,
    Assignment,
    assignment_for,
    emit_exposure,
    exposure_key,
    record_exposure,
)
from recommendations.insights.ranking import rerank as stock_rerank
from recommendations.merchandising.loading import load_rules
from recommendations.merchandising.rules import RuleSpec, apply_rules, pinned_item_ids
from recommendations.stores import CONTENT_LABEL, RankedList
from recommendations.types import (
    Candidate,
    Fallback,
    Reason,
    ReasonKind,
    Relation,
    Scenario,
    Slot,
)

from . import catalog_cache, snapshot, sources
from .diversity import cap_categories
from .models import active_models
from .reasons import ITEM_REASONS, reason_text
from .snapshot import Snapshot

logger = logging.getLogger("recommendations.serving")
experiments_logger = logging.getLogger("recommendations.experiments")
T = TypeVar("T")

_NOT_BACKFILLED = {Slot.RECENTLY_VIEWED, Slot.BUY_AGAIN}
#: For-you reads the visitor's newest items, and the neighbour lists of the newest of those.
_FOR_YOU_RECENT = 10
_FOR_YOU_NEIGHBOURS_OF = 5
#: Sources of the backfill stages: a list made only of these is not what the slot's model says.
BACKFILL_SOURCES = frozenset({"trending", "popular", "catalogue"})
#: The most item ids one request may exclude (the API's ``exclude``, a page's earlier lists).
MAX_EXCLUDE = 200
_RELATION = {
    Slot.SIMILAR: (Relation.SIMILAR, ReasonKind.SIMILAR),
    Slot.ALSO_VIEWED: (Relation.ALSO_VIEWED, ReasonKind.BECAUSE_VIEWED),
    Slot.BOUGHT_TOGETHER: (Relation.BOUGHT_TOGETHER, ReasonKind.BOUGHT_TOGETHER),
}


@dataclass(frozen=True)
class Audience:
    """Who the list is for. Built from the request's server-side identity, never from input."""

    user_id: int | None = None
    visitor_id: str | None = None
    cart_item_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Recommended:
    item: ItemInfo
    score: float
    reason: Reason
    reason_text: str
    position: int
    #: The candidate source that proposed it (``merchandising`` for a pin of an item no source had).
    source: str = ""
    #: Ids of the rules that placed or moved it (a pin; the boosts and buries that matched).
    rule_ids: tuple[int, ...] = ()
    #: Why stock-aware ranking moved it (``STOCK_AWARE_RANKING``), for staff previews only.
    stock_note: str = ""


@dataclass
class Recommendations:
    slot: Slot
    items: list[Recommended]
    token: str
    degraded: bool = False
    sources: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def fallback_only(self) -> bool:
        """Every item came from backfill (trending, popular, the catalogue), none from what the
        slot is about: a heading such as "Often bought together" would not be true of it."""
        return (
            self.slot is not Slot.TRENDING
            and bool(self.items)
            and set(self.sources) <= BACKFILL_SOURCES
        )

    def __iter__(self) -> Iterator[Recommended]:
        return iter(self.items)


class UnknownItem(ValueError):
    """The ``item`` a slot is about does not exist."""


class OverLimit(Exception):
    """The request's throttle counter (:class:`RequestCount`) went over its limit: nothing was
    read or recommended."""


@dataclass(frozen=True)
class RequestCount:
    """A throttle's fixed-window counter that the request counts itself: in the round trip that
    reads the list (``serving/snapshot.py``), else by ``increment`` (the throttle's own way,
    which answers ``None`` when no counter can be reached, and the request goes through)."""

    key: str
    seconds: int
    limit: int
    increment: Callable[[], int | None]


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return app_settings.DEFAULT_LIMIT
    return max(1, min(int(limit), app_settings.MAX_LIMIT))


def recommend(
    slot: Slot | str,
    audience: Audience,
    *,
    item_id: str | None = None,
    limit: int | None = None,
    exclude: Iterable[str] = (),
    rules: Sequence[RuleSpec] | None = None,
    count: RequestCount | None = None,
) -> Recommendations:
    """Exactly ``limit`` recommendations for ``audience`` in ``slot`` when the catalogue allows.

    ``exclude`` is an exact filter like the cart and the current item: the items other lists on
    the same page already show (page-level exclusion). Candidate pools grow by its size, so the
    list still reaches ``limit`` when enough other items are eligible.

    ``rules`` replaces the slot's live merchandiser rules (oldest first, as ``load_rules`` gives
    them): ``[]`` serves the list without rules, and admin's previews pass a rule not saved yet,
    so that what they show is what this function would serve, not a second implementation.

    ``count`` is counted before anything else is read, and raises :class:`OverLimit` when the
    request is over its limit.
    """
    slot = Slot(slot)
    limit = clamp_limit(limit)
    page_excluded = {str(item) for item in exclude}
    # A running experiment may configure the list (docs/experiments.md); previews never enter one.
    assignment = (
        assignment_for(slot.value, audience.visitor_id, audience.user_id, record=False)
        if rules is None
        else None
    )
    # Everything the list needs from Redis, and the exposure marker, in one round trip.
    reads = _read_ahead(slot, audience, item_id, limit * 4 + len(page_excluded), assignment, count)
    if count is not None:
        counted = reads.count if reads is not None else count.increment()
        if counted is not None and counted > count.limit:
            raise OverLimit(count.key)
    if assignment is not None:
        assignment = _exposed(assignment, slot, audience, reads)
    if assignment is not None and assignment.rules_off:
        rules = []
    version = assignment.for_you_version if assignment is not None else None
    with fallbacks.collecting() as noted:
        result = _recommend(slot, audience, item_id, limit, page_excluded, rules, version, reads)
    result.degraded = bool(noted)
    if assignment is not None:
        result.token += assignment.token_suffix
        if assignment.holdout:
            result.items, result.sources = [], []
    return result


def _read_ahead(
    slot: Slot,
    audience: Audience,
    item_id: str | None,
    pool: int,
    assignment: Assignment | None,
    count: RequestCount | None = None,
) -> Snapshot | None:
    """The slot's reads from Redis in one round trip (``serving/snapshot.py``), or ``None``:
    embedded mode, the breaker open, or a slot whose sources are read on their own."""
    exposure = (
        exposure_key(assignment.experiment_id, audience.visitor_id)
        if assignment is not None and audience.visitor_id
        else None
    )
    read = functools.partial(
        snapshot.read,
        exposure_key=exposure,
        exposure_seconds=EXPOSURE_DEDUPE_SECONDS,
        counter=(count.key, count.seconds, count.limit) if count is not None else None,
    )
    if slot is Slot.FOR_YOU:
        return read(
            lists=[f"user:{audience.user_id}"] if audience.user_id is not None else [],
            recent_of=(audience.user_id, audience.visitor_id),
            recent_limit=_FOR_YOU_RECENT,
            neighbours_of_recent=_FOR_YOU_NEIGHBOURS_OF,
            relation=Relation.SIMILAR,
        )
    if slot in _RELATION:
        relation = _RELATION[slot][0]
        about = [item_id] if item_id else list(audience.cart_item_ids)
        return read(lists=[f"item:{item}:{relation}" for item in about])
    if slot is Slot.RECENTLY_VIEWED:
        return read(recent_of=(audience.user_id, audience.visitor_id), recent_limit=pool)
    return None


def _exposed(
    assignment: Assignment, slot: Slot, audience: Audience, reads: Snapshot | None
) -> Assignment | None:
    """``assignment`` with the visitor's first exposure recorded, as ``assignment_for`` records
    it; a failure serves the control, as there."""
    visitor_id = audience.visitor_id
    assert visitor_id  # assignment_for assigns visitors only
    try:
        if reads is None or reads.first_exposure is None:
            record_exposure(assignment, slot.value, visitor_id, audience.user_id)
        elif reads.first_exposure:
            emit_exposure(assignment, slot.value, visitor_id, audience.user_id)
    except DatabaseError as exc:
        experiments_logger.warning("Experiments unavailable (%s); serving the control", exc)
        return None
    except Exception:
        experiments_logger.exception("Experiment assignment failed; serving the control")
        return None
    return assignment


def _recommend(
    slot: Slot,
    audience: Audience,
    item_id: str | None,
    limit: int,
    page_excluded: set[str],
    rules_override: Sequence[RuleSpec] | None = None,
    model_version: int | None = None,
    reads: Snapshot | None = None,
) -> Recommendations:
    pool = limit * 4 + len(page_excluded)
    catalog_version = reads.catalog_version if reads is not None else None
    primary: list[Candidate] = _without_database(
        lambda: _gather(slot, audience, item_id, pool, model_version, reads), [], "Candidates"
    )
    if slot is Slot.FOR_YOU and active_models.unavailable(Scenario.FOR_YOU):
        fallbacks.note(Fallback.MODEL)
    rules: list[RuleSpec] = (
        list(rules_override)
        if rules_override is not None
        else _without_database(lambda: load_rules(slot.value, timezone.now()), [], "Rules")
    )
    excluded = _excluded_ids(slot, audience, item_id) | page_excluded

    candidates = _merge(primary, [])
    items, complete = _describe(
        _wanted(candidates, rules) | ({item_id} if item_id else set()), catalog_version
    )
    if item_id and item_id not in items and complete:
        raise UnknownItem(f"unknown item {item_id!r}")
    backfilled = slot not in _NOT_BACKFILLED
    chosen = _select(candidates, rules, items, excluded, limit=limit, pool=pool, fill=False)
    if backfilled and len(chosen) < limit:
        extra: list[Candidate] = []
        for stage in _backfill_stages(items.get(item_id) if item_id else None, pool):
            extra += _without_database(stage, [], "Backfill")
            candidates = _merge(primary, extra)
            items.update(_describe(_wanted(candidates, rules) - items.keys(), catalog_version)[0])
            chosen = _select(candidates, rules, items, excluded, limit=limit, pool=pool, fill=False)
            if len(chosen) >= limit:
                break
    if len(chosen) < limit:  # only category caps can still hold items back: relax them
        chosen = _select(candidates, rules, items, excluded, limit=limit, pool=pool, fill=True)
    final, unmoved = chosen, dict[str, str]()
    chosen, stock_notes = _without_database(
        lambda: stock_rerank(final, items), (final, unmoved), "Stock-aware ranking"
    )
    used = sorted({c.source for c in chosen})
    texts: dict[Reason, str] = {}  # items often share a reason
    language = get_language()
    for c in chosen:
        if c.reason not in texts:
            texts[c.reason] = reason_text(c.reason, items, language)
    return Recommendations(
        slot=slot,
        items=[
            Recommended(
                item=items[c.item_id],
                score=c.score,
                reason=c.reason,
                reason_text=texts[c.reason],
                position=position,
                source=c.source,
                rule_ids=_rule_ids(c),
                stock_note=stock_notes.get(c.item_id, ""),
            )
            for position, c in enumerate(chosen, 1)
        ],
        token=attribution_token(slot, used),
        sources=used,
    )


def _rule_ids(candidate: Candidate) -> tuple[int, ...]:
    """The rules ``apply_rules`` recorded on a candidate (``extra["rule"]``, comma-separated)."""
    return tuple(int(part) for part in candidate.extra.get("rule", "").split(",") if part)


def _without_database(step: Callable[[], T], default: T, what: str) -> T:
    """``step()``, or ``default`` when it needs the database and the database is unreachable:
    the rest of the list is still served from what can be reached (Redis, the process)."""
    try:
        return step()
    except DatabaseError as exc:
        logger.warning("%s skipped: database unavailable (%s)", what, exc)
        fallbacks.note(Fallback.DATABASE)
        return default


def _describe(
    item_ids: set[str], catalog_version: bytes | None = None
) -> tuple[dict[str, ItemInfo], bool]:
    """The catalogue's description of ``item_ids`` and whether it is complete: without the
    database, only the items the process already knows are described. ``catalog_version`` is
    the version this request already read (else the cache reads it)."""
    try:
        return catalog_cache.cache.describe(item_ids, version=catalog_version), True
    except DatabaseError as exc:
        logger.warning("Catalogue unavailable (%s); describing known items only", exc)
        fallbacks.note(Fallback.DATABASE)
        return catalog_cache.cache.known(item_ids), False


def attribution_token(slot: Slot, sources: list[str]) -> str:
    """``<slot>.<sources>.<random>``: impressions and clicks carry it back, so that reports can
    credit clicks and purchases to the slot and to what produced the list."""
    named = "+".join(source.replace(".", "_") for source in sources) or "none"
    return f"{slot.value}.{named}.{secrets.token_hex(6)}"


def _wanted(candidates: list[Candidate], rules: list) -> set[str]:
    """Every item the catalogue must describe: candidates, pinned items, items reasons name."""
    wanted = {c.item_id for c in candidates} | pinned_item_ids(rules)
    return wanted | {c.reason.about for c in candidates if c.reason.kind in ITEM_REASONS}


def _select(
    candidates: list[Candidate],
    rules: list,
    items: dict[str, ItemInfo],
    excluded: set[str],
    *,
    limit: int,
    pool: int,
    fill: bool,
) -> list[Candidate]:
    """Exact filters, then rules, then the category cap."""
    eligible = [
        c
        for c in candidates
        if (info := items.get(c.item_id)) is not None
        and info.active
        and info.in_stock
        and c.item_id not in excluded
    ]
    # Pins may bring back an item the filters removed (the current item, the cart): drop it again.
    ranked = [
        c for c in apply_rules(eligible, rules, items, limit=pool) if c.item_id not in excluded
    ]
    return cap_categories(
        ranked, items, limit=limit, max_share=app_settings.MAX_CATEGORY_SHARE, fill=fill
    )


def _gather(
    slot: Slot,
    audience: Audience,
    item_id: str | None,
    pool: int,
    model_version: int | None,
    reads: Snapshot | None = None,
) -> list[Candidate]:
    if slot is Slot.FOR_YOU:
        return _for_you(audience, pool, model_version, reads)
    if slot in _RELATION:
        relation, reason = _RELATION[slot]
        about = [item_id] if item_id else list(audience.cart_item_ids)
        lists = reads.neighbours(about, relation) if reads is not None else None
        return _from_neighbours(about, relation, reason, pool, lists)
    if slot is Slot.TRENDING:
        return _ranked(sources.trending(pool), ReasonKind.TRENDING, "trending")
    if slot is Slot.RECENTLY_VIEWED:
        recent = (
            reads.recent
            if reads is not None and reads.recent is not None
            else sources.recent_items(
                user_id=audience.user_id, visitor_id=audience.visitor_id, limit=pool
            )
        )
        return [
            Candidate(
                item_id, float(len(recent) - rank), Reason(ReasonKind.RECENTLY_VIEWED), "recent"
            )
            for rank, item_id in enumerate(recent)
        ]
    if slot is Slot.BUY_AGAIN:
        return _ranked(sources.buy_again(audience.user_id, pool), ReasonKind.BUY_AGAIN, "purchases")
    raise ValueError(f"unknown slot {slot!r}")


def _for_you(
    audience: Audience, pool: int, model_version: int | None = None, reads: Snapshot | None = None
) -> list[Candidate]:
    """The user's precomputed list, the active model (or an experiment's ``model_version``)
    folded over what they just did, and the neighbours of their most recent items."""
    if reads is not None and reads.recent is not None:
        own = (
            reads.lists.get(f"user:{audience.user_id}", ([], ""))[0]
            if audience.user_id is not None
            else []
        )
        recent = reads.recent
    else:
        own = sources.user_list(audience.user_id)
        recent = sources.recent_items(
            user_id=audience.user_id, visitor_id=audience.visitor_id, limit=_FOR_YOU_RECENT
        )
    candidates = _ranked(own, ReasonKind.PERSONALISED, "model")
    if not recent:
        model = None
    elif model_version is not None:
        model = active_models.for_version(model_version)
    else:
        model = active_models.get(Scenario.FOR_YOU)
    if model is not None:
        candidates += _ranked(
            model.recommend(recent, pool), ReasonKind.PERSONALISED, f"model-{model.label}"
        )
    about = recent[:_FOR_YOU_NEIGHBOURS_OF]
    lists = reads.neighbours(about, Relation.SIMILAR) if reads is not None else None
    fresh = _from_neighbours(about, Relation.SIMILAR, ReasonKind.BECAUSE_VIEWED, pool, lists)
    return _best_of(fresh + candidates)[:pool]


def _from_neighbours(
    about: list[str],
    relation: str,
    reason: ReasonKind,
    pool: int,
    lists: dict[str, tuple[RankedList, str]] | None = None,
) -> list[Candidate]:
    """Neighbours of each item in ``about`` (most relevant first), weighted down by rank.

    A list computed from catalogue content (an item no model has neighbours for yet) is labelled
    ``CONTENT_LABEL``: its candidates come from source ``content``, and in the similar slot they
    say they are similar in name, description or category rather than "similar" as shoppers
    behave.
    """
    if lists is None:
        lists = sources.neighbours(about, relation)
    best: dict[str, tuple[float, int]] = {}  # item → (weighted score, index of its source)
    unseen = (-1.0, -1)
    origins: list[tuple[Reason, str]] = []  # by index: the reason its candidates give, source
    content_reason = ReasonKind.SIMILAR_CONTENT if reason is ReasonKind.SIMILAR else reason
    for rank, source_item in enumerate(about):
        neighbours, label = lists.get(source_item, ([], ""))
        if not neighbours:
            continue
        index = len(origins)
        if label == CONTENT_LABEL:
            origins.append((Reason(content_reason, source_item), "content"))
        else:
            origins.append((Reason(reason, source_item), relation))
        scale = 1.0 / ((max(score for _, score in neighbours) or 1.0) * (1.0 + 0.5 * rank))
        for item_id, score in neighbours:
            weighted = score * scale
            if weighted > best.get(item_id, unseen)[0]:
                best[item_id] = (weighted, index)
    top = sorted(best.items(), key=lambda pair: -pair[1][0])[:pool]
    return [Candidate(item_id, score, *origins[index]) for item_id, (score, index) in top]


def _ranked(
    ranked: RankedList, reason: ReasonKind, source: str, about: str = ""
) -> list[Candidate]:
    top = max((score for _, score in ranked), default=0.0) or 1.0
    return [
        Candidate(item_id, score / top, Reason(reason, about), source) for item_id, score in ranked
    ]


def _best_of(candidates: Iterable[Candidate]) -> list[Candidate]:
    """One candidate per item, the highest-scoring, best first."""
    best: dict[str, Candidate] = {}
    for candidate in candidates:
        current = best.get(candidate.item_id)
        if current is None or candidate.score > current.score:
            best[candidate.item_id] = candidate
    return sorted(best.values(), key=lambda c: -c.score)


def _backfill_stages(
    context_item: ItemInfo | None, pool: int
) -> list[Callable[[], list[Candidate]]]:
    """Backfill sources in their stated order, each read only if the list is still short."""
    category = context_item.category if context_item is not None else ""
    stages: list[Callable[[], list[Candidate]]] = []
    if category:
        stages.append(
            lambda: _ranked(
                sources.trending(pool, category=category), ReasonKind.TRENDING, "trending", category
            )
        )
    stages.append(lambda: _ranked(sources.trending(pool), ReasonKind.TRENDING, "trending"))
    stages.append(lambda: _ranked(sources.popular(pool), ReasonKind.POPULAR, "popular"))
    stages.append(
        lambda: [
            Candidate(item_id, 0.0, Reason(ReasonKind.POPULAR), "catalogue")
            for item_id in get_catalog().fallback_ids(pool, category or None)
        ]
    )
    return stages


def _merge(primary: list[Candidate], backfill: list[Candidate]) -> list[Candidate]:
    """Primary candidates first (scores in (1, 2]), then backfill in its order (scores in (0, 1))."""
    merged: dict[str, Candidate] = {}
    for c in primary:
        if c.item_id not in merged:
            merged[c.item_id] = Candidate(
                c.item_id, 1.0 + max(min(c.score, 1.0), 1e-6), c.reason, c.source
            )
    total = len(backfill) + 1
    for rank, c in enumerate(backfill):
        if c.item_id not in merged:
            merged[c.item_id] = Candidate(c.item_id, (total - rank) / total, c.reason, c.source)
    return sorted(merged.values(), key=lambda c: -c.score)


def _excluded_ids(slot: Slot, audience: Audience, item_id: str | None) -> set[str]:
    """The current item, the cart (except for buy-again) and, where configured, past purchases."""
    excluded = set(audience.cart_item_ids) if slot is not Slot.BUY_AGAIN else set()
    if item_id:
        excluded.add(item_id)
    if slot.value in app_settings.EXCLUDE_PURCHASED_SLOTS:
        excluded |= _without_database(
            lambda: sources.purchased_items(audience.user_id), set(), "Past purchases"
        )
    return excluded
