"""Staff previews: what a person would be shown now, and what an unsaved rule would change.

Everything here goes through :func:`~recommendations.serving.pipeline.recommend`, the function
the storefront and the API call, with the merchandiser rules replaced where a comparison needs
it (``rules=[]``: the list without rules; the live rules plus an unsaved one). A preview is
therefore the list itself, never a second implementation that could drift from it.

Looking at another person's recommendations reads their history, so every preview is logged
(:func:`log_preview`): to the ``recommendations.preview`` logger, as the API's ``as_user`` is, and
as an admin ``LogEntry`` on the person, where staff look for who did what.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone

from recommendations.catalog import ItemInfo
from recommendations.merchandising.loading import load_rules
from recommendations.merchandising.rules import RuleSpec
from recommendations.models import Event, EventKind, Rule
from recommendations.types import Action, Slot

from .catalog_cache import cache as catalog
from .pipeline import Audience, Recommendations, Recommended, recommend

preview_logger = logging.getLogger("recommendations.preview")

#: The rule id an unsaved rule carries in a preview (no saved rule has it).
UNSAVED_RULE_ID = 0


@dataclass(frozen=True)
class Person:
    """Whose recommendations a preview shows: a signed-in user, or a visitor by cookie id."""

    label: str
    user_id: int | None = None
    visitor_id: str | None = None

    def audience(self, cart_item_ids: Sequence[str] = ()) -> Audience:
        """The audience the storefront would build for them (the API's ``as_user`` for a user)."""
        return Audience(
            user_id=self.user_id, visitor_id=self.visitor_id, cart_item_ids=tuple(cart_item_ids)
        )


def person_of_user(user: AbstractBaseUser) -> Person:
    return Person(label=_user_label(user), user_id=user.pk)


def find_people(query: str, limit: int = 10) -> list[Person]:
    """Users whose e-mail, username or id is ``query`` (exact first, then containing it), and
    the visitor whose cookie id it is, for the preview's search box."""
    query = query.strip()
    if not query:
        return []
    users = get_user_model()._default_manager.all()
    username = get_user_model().USERNAME_FIELD
    exact = Q(**{f"{username}__iexact": query}) | Q(email__iexact=query)
    if query.isascii() and query.isdecimal() and len(query) <= 18:
        exact |= Q(pk=int(query))
    found = list(users.filter(exact)[:limit])
    if len(found) < limit:
        containing = Q(**{f"{username}__icontains": query}) | Q(email__icontains=query)
        found += users.filter(containing).exclude(pk__in=[u.pk for u in found])[
            : limit - len(found)
        ]
    people = [person_of_user(user) for user in found]
    if Event.objects.filter(visitor_id=query).exists():
        people.append(Person(label=f"Visitor {query}", visitor_id=query))
    return people


@dataclass(frozen=True)
class HistoryEntry:
    when: datetime
    kind: str
    item: ItemInfo | None
    item_id: str


def recent_history(person: Person, limit: int = 20) -> list[HistoryEntry]:
    """The person's latest events with a product, newest first, products named."""
    if person.user_id is not None:
        events = Event.objects.filter(user_id=person.user_id)
    elif person.visitor_id:
        events = Event.objects.filter(visitor_id=person.visitor_id)
    else:
        return []
    rows = list(
        events.exclude(item_id="")
        .exclude(kind__in=[EventKind.IMPRESSION, EventKind.CLICK])
        .order_by("-ts")
        .values_list("ts", "kind", "item_id")[:limit]
    )
    items = catalog.describe({item_id for _, _, item_id in rows})
    return [
        HistoryEntry(ts, EventKind(kind).label, items.get(item_id), item_id)
        for ts, kind, item_id in rows
    ]


@dataclass(frozen=True)
class Row:
    """One position of a preview: what is shown with the rules, and what would be without."""

    position: int
    served: Recommended | None
    unruled: Recommended | None
    rules: list[Rule] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return (self.served and self.served.item.item_id) != (
            self.unruled and self.unruled.item.item_id
        )


@dataclass(frozen=True)
class Comparison:
    """A slot's list as served and as it would be without (some of) the rules, side by side."""

    slot: Slot
    served: Recommendations
    unruled: Recommendations
    rows: list[Row]
    #: Items the comparison list has and the served one lost, with the exclude rules that match.
    removed: list[tuple[Recommended, list[Rule]]]


def compare(
    slot: Slot,
    audience: Audience,
    *,
    item_id: str | None = None,
    limit: int | None = None,
    rules: Sequence[RuleSpec] | None = None,
    baseline: Sequence[RuleSpec] = (),
) -> Comparison:
    """``slot`` served with ``rules`` (default: the live ones) next to it served with
    ``baseline`` (default: no rules at all), each position naming the rules that put its item
    there. ``item_id`` is the product page the lists are on (raises ``UnknownItem``)."""
    # Rules are always passed explicitly: a preview then never enters a running experiment, so
    # looking at a visitor records no exposure for them (it shows the control's list).
    specs = list(rules) if rules is not None else load_rules(slot.value, timezone.now())
    served = recommend(slot, audience, item_id=item_id, limit=limit, rules=specs)
    unruled = recommend(slot, audience, item_id=item_id, limit=limit, rules=list(baseline))
    wanted: set[int | None] = {rule_id for entry in served for rule_id in entry.rule_ids}
    names = _rules_by_id(wanted | {spec.rule_id for spec in specs})
    rows = [
        Row(
            position,
            _at(served, position),
            _at(unruled, position),
            [names[i] for i in _rule_ids_at(served, position) if i in names],
        )
        for position in range(1, max(len(served), len(unruled)) + 1)
    ]
    shown = {entry.item.item_id for entry in served}
    exclusions = [spec for spec in specs if spec.action == Action.EXCLUDE]
    removed = []
    for entry in unruled:
        if entry.item.item_id in shown:
            continue
        matching = [
            names[spec.rule_id]
            for spec in exclusions
            if spec.rule_id in names and spec.matches(entry.item.item_id, entry.item)
        ]
        removed.append((entry, matching))
    return Comparison(slot, served, unruled, rows, removed)


def preview_person(
    audience: Audience, *, item_id: str | None = None, limit: int | None = None
) -> list[Comparison]:
    """Every slot as ``audience`` would get it now (on product ``item_id``'s page when given),
    each beside its list without merchandiser rules."""
    return [compare(slot, audience, item_id=item_id, limit=limit) for slot in Slot]


def rule_effect(
    spec: RuleSpec,
    slot: Slot,
    audience: Audience,
    *,
    item_id: str | None = None,
    limit: int | None = None,
) -> Comparison:
    """``slot`` with the live rules and the unsaved rule ``spec`` (as if it were live now) next
    to the same list without it. An edited rule (``spec.rule_id`` set) takes the place of its
    saved version, keeping its precedence; a new rule is the newest, so it comes last."""
    live = load_rules(slot.value, timezone.now())
    # A rule not saved yet has no id: it gets one no saved rule has, so positions can name it.
    marked = replace(spec, rule_id=UNSAVED_RULE_ID) if spec.rule_id is None else spec
    saved = spec.rule_id is not None and any(rule.rule_id == spec.rule_id for rule in live)
    baseline = [rule for rule in live if not saved or rule.rule_id != spec.rule_id]
    if saved:
        with_rule = [marked if rule.rule_id == spec.rule_id else rule for rule in live]
    else:
        with_rule = [*baseline, marked]
    return compare(slot, audience, item_id=item_id, limit=limit, rules=with_rule, baseline=baseline)


def log_preview(staff: AbstractBaseUser, person: Person, what: str = "recommendations") -> None:
    """Record that ``staff`` looked at ``person``'s ``what``: the logger, and admin's history."""
    preview_logger.info(
        "%s previewed %s of %s", _user_label(staff), what, person.label, extra={"staff": staff.pk}
    )
    message = f"Previewed {what} as this person (nothing changed)."
    if person.user_id is not None:
        content_type = ContentType.objects.get_for_model(get_user_model())
        object_id, object_repr = str(person.user_id), person.label
    else:
        content_type = ContentType.objects.get_for_model(Event)
        object_id, object_repr = person.visitor_id or "", person.label
    LogEntry.objects.create(
        user_id=staff.pk,
        content_type=content_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        action_flag=CHANGE,
        change_message=message,
    )


def _rules_by_id(ids: set[int | None]) -> dict[int, Rule]:
    wanted = {i for i in ids if i}
    found: dict[int, Rule] = {rule.pk: rule for rule in Rule.objects.filter(pk__in=wanted)}
    if UNSAVED_RULE_ID in ids:
        found[UNSAVED_RULE_ID] = Rule(name="This rule (not saved)")
    return found


def _at(result: Recommendations, position: int) -> Recommended | None:
    return result.items[position - 1] if position <= len(result.items) else None


def _rule_ids_at(result: Recommendations, position: int) -> tuple[int, ...]:
    entry = _at(result, position)
    return entry.rule_ids if entry is not None else ()


def _user_label(user: AbstractBaseUser) -> str:
    email = getattr(user, "email", "")
    name = user.get_username()
    return f"{name} <{email}>" if email and email != name else name
