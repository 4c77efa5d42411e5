"""Results computed from real events: exposures from serving, purchases and beacons as stored."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from recommendations.experiments.results import experiment_results
from recommendations.models import EventKind, VariantKind, VisitorLink
from recommendations.serving.pipeline import Audience, recommend
from recommendations.tracking.records import EventRecord
from recommendations.tracking.sinks import deliver

from .conftest import visitor_in


def purchase(visitor: str, price: str, quantity: int, order: str, **fields) -> EventRecord:
    return EventRecord(
        kind=int(EventKind.PURCHASE),
        item_id="1",
        visitor_id=visitor,
        value=quantity,
        context={"order": order, "price": price},
        **fields,
    )


def test_results_per_variant_come_from_the_events(
    products, make_experiment, django_capture_on_commit_callbacks, drain, django_user_model
):
    experiment = make_experiment(
        ("control", "Control", VariantKind.CONTROL, 50.0),
        ("b", "Variant B", VariantKind.RULES_OFF, 50.0),
    )
    controls = [visitor_in(experiment, "control") for _ in range(3)]
    variants = [visitor_in(experiment, "b") for _ in range(2)]
    tokens = {}
    with django_capture_on_commit_callbacks(execute=True):
        for visitor in controls + variants:
            tokens[visitor] = recommend("for-you", Audience(visitor_id=visitor)).token
    drain()
    user = django_user_model.objects.create_user("bo")
    VisitorLink.objects.create(visitor_id=variants[1], user=user)
    before = timezone.now() - timedelta(days=1)
    deliver(
        [
            purchase(controls[0], "10.00", 2, "o1"),  # 20.00
            purchase(controls[1], "5.00", 1, "o2", ts=before),  # before exposure: not counted
            purchase(variants[0], "7.50", 1, "o3"),
            purchase(variants[0], "2.50", 2, "o3"),  # same order: 12.50, one order
            # bought while signed in, on another device: credited through the visitor link
            purchase(f"user-{user.pk}", "3.00", 1, "o4", user_id=user.pk),
        ]
        + [
            EventRecord(kind=int(kind), item_id="2", visitor_id=v, context={"token": tokens[v]})
            for v, kind in [
                (controls[0], EventKind.IMPRESSION),
                (controls[1], EventKind.IMPRESSION),
                (controls[0], EventKind.CLICK),
                (variants[0], EventKind.IMPRESSION),
            ]
        ]
    )
    drain()
    analysis = experiment_results(experiment)
    control, variant = analysis.variants
    assert (control.name, control.visitors, control.outcomes.conversions) == ("Control", 3, 1)
    assert control.revenue_per_visitor == 20.0 / 3
    assert (control.outcomes.impressions, control.outcomes.clicks) == (2, 1)
    assert control.click_through_rate == 0.5
    assert (variant.visitors, variant.outcomes.conversions) == (2, 2)
    assert variant.revenue_per_visitor == (12.5 + 3.0) / 2
    assert variant.orders_per_visitor == 1.0
    assert (variant.outcomes.impressions, variant.outcomes.clicks) == (1, 0)
    assert variant.statements[0].startswith("Variant B converts")
    assert analysis.below_plan and any("Below the planned sample" in w for w in analysis.warnings)


def test_an_unequal_split_is_flagged(products, make_experiment, django_capture_on_commit_callbacks):
    experiment = make_experiment(
        ("control", "Control", VariantKind.CONTROL, 50.0),
        ("b", "Variant B", VariantKind.RULES_OFF, 50.0),
    )
    with django_capture_on_commit_callbacks(execute=True):
        for visitor in [visitor_in(experiment, "control") for _ in range(60)] + [
            visitor_in(experiment, "b") for _ in range(10)
        ]:
            recommend("for-you", Audience(visitor_id=visitor))
    from django.conf import settings

    if settings.SERVICES_MODE:
        from recommendations.tracking.ingest import Consumer

        Consumer("test-consumer").run(until_idle=True)
    analysis = experiment_results(experiment)
    assert analysis.srm and analysis.warnings[0].startswith("Sample ratio mismatch")
