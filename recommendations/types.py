"""The app's shared vocabulary: slots, scenarios, relations, rule actions, reasons, and the
candidate that carries them through the serving pipeline and the merchandising rules.

Everything else imports its names from here, and this module imports nothing of the app, so the
vocabulary sits at the bottom of the house. Two spellings exist for a reason and meet only here:

* a **slot** is where a list is shown (``for-you``, ``similar``, …: URL-friendly, in templates and
  the API);
* a **scenario** is what a model is trained for (``for_you``, ``similar_item``, …: stored with
  model versions, named on the command line).

:meth:`Scenario.parse` accepts a slot's spelling too (``for-you`` for ``for_you``), so a user who
types the other one is understood; an unknown name is refused with the choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from django.db import models


class Relation(StrEnum):
    """Item-to-item lists precomputed per item (``item:<id>:<relation>``)."""

    SIMILAR = "similar"
    ALSO_VIEWED = "also-viewed"
    BOUGHT_TOGETHER = "bought-together"


class Fallback(StrEnum):
    """What a degraded answer did without; counted per day (``recommendations.fallbacks``)."""

    MODEL = "model"
    LISTS = "lists"
    DATABASE = "database"
    UNVERIFIED_ITEMS = "unverified-items"

    @property
    def label(self) -> str:
        return _FALLBACK_LABELS[self]


_FALLBACK_LABELS = {
    Fallback.MODEL: "Served without the active model (artifact or registry unreadable)",
    Fallback.LISTS: "Served without precomputed lists (list store unreachable)",
    Fallback.DATABASE: "Served without the database (rules, catalogue or history skipped)",
    Fallback.UNVERIFIED_ITEMS: "Beacon events queued with items the catalogue could not check",
}


class Slot(StrEnum):
    """Where recommendations are shown; each slot has its own candidate sources."""

    FOR_YOU = "for-you"
    SIMILAR = "similar"
    ALSO_VIEWED = "also-viewed"
    BOUGHT_TOGETHER = "bought-together"
    TRENDING = "trending"
    RECENTLY_VIEWED = "recently-viewed"
    BUY_AGAIN = "buy-again"

    @property
    def relation(self) -> Relation | None:
        """The item list the slot is built from, for slots about an item (or the cart)."""
        return _SLOT_RELATIONS.get(self)

    @property
    def scenario(self) -> Scenario | None:
        """The trained scenario whose model feeds the slot, if any."""
        return _SLOT_SCENARIOS.get(self)

    @property
    def label(self) -> str:
        return self.value.replace("-", " ").capitalize()


class Scenario(models.TextChoices):
    """What a model version is trained for."""

    FOR_YOU = "for_you", "For you"
    SIMILAR_ITEM = "similar_item", "Similar items"
    BOUGHT_TOGETHER = "bought_together", "Bought together"
    TRENDING = "trending", "Trending"

    @property
    def slot(self) -> Slot:
        """The slot this scenario's model serves."""
        return _SCENARIO_SLOTS[self]

    @property
    def relation(self) -> Relation | None:
        """The item list this scenario's model writes (``None``: lists per user, or none)."""
        return self.slot.relation if self is not Scenario.TRENDING else None

    @property
    def gated(self) -> bool:
        """Whether its candidates are validated and pass the promotion gate (trending has no
        validation split)."""
        return self is not Scenario.TRENDING

    @classmethod
    def parse(cls, name: str) -> Scenario:
        """The scenario named ``name`` in either spelling (``for_you`` or ``for-you``).

        Raises ``ValueError`` naming the choices for anything else."""
        for scenario in cls:
            if name in (scenario.value, scenario.slot.value):
                return scenario
        choices = ", ".join(cls.values)
        raise ValueError(f"unknown scenario {name!r}; expected one of {choices}")


class Action(StrEnum):
    """What a merchandising rule does to the items it matches."""

    PIN = "pin"
    BOOST = "boost"
    BURY = "bury"
    EXCLUDE = "exclude"


class ReasonKind(StrEnum):
    """Why an item is in a list; shown to shoppers through ``serving.reasons``."""

    BECAUSE_VIEWED = "because-viewed"  # about: the item viewed
    BOUGHT_TOGETHER = "bought-together"  # about: the item it is bought with
    SIMILAR = "similar"  # about: the item it resembles
    SIMILAR_CONTENT = "similar-content"  # about: the item whose name/description/category it shares
    TRENDING = "trending"  # about: the category, or "" for the whole store
    PERSONALISED = "personalised"  # from the user's model scores
    POPULAR = "popular"  # backfill
    PINNED = "pinned"  # a merchandiser rule placed it
    RECENTLY_VIEWED = "recently-viewed"
    BUY_AGAIN = "buy-again"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why one item is in a list: a kind and what it is about."""

    kind: ReasonKind
    about: str = ""  # an item id or a category name, depending on the kind


@dataclass(slots=True)
class Candidate:
    """An item proposed for a slot, with the score its source gave it and why."""

    item_id: str
    score: float
    reason: Reason
    source: str = ""  # which candidate source or model produced it
    boosted: float = 0.0  # added by merchandiser rules
    extra: dict[str, str] = field(default_factory=dict)


_SLOT_RELATIONS = {
    Slot.SIMILAR: Relation.SIMILAR,
    Slot.ALSO_VIEWED: Relation.ALSO_VIEWED,
    Slot.BOUGHT_TOGETHER: Relation.BOUGHT_TOGETHER,
}
_SCENARIO_SLOTS = {
    Scenario.FOR_YOU: Slot.FOR_YOU,
    Scenario.SIMILAR_ITEM: Slot.SIMILAR,
    Scenario.BOUGHT_TOGETHER: Slot.BOUGHT_TOGETHER,
    Scenario.TRENDING: Slot.TRENDING,
}
_SLOT_SCENARIOS = {slot: scenario for scenario, slot in _SCENARIO_SLOTS.items()}

#: Scenarios whose candidates are validated and gated.
GATED_SCENARIOS = tuple(scenario for scenario in Scenario if scenario.gated)
