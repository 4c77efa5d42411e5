"""Process-local caches are cleared one way: by the change that makes them stale."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recommendations import caches
from recommendations.caches import Change
from recommendations.merchandising import loading
from recommendations.models import Rule
from recommendations.serving.catalog_cache import cache as catalogue_copy
from recommendations.serving.models import active_models
from recommendations.types import Action
from shop.models import Category, Product

pytestmark = pytest.mark.django_db


def test_every_cache_is_registered_with_what_makes_it_stale():
    import recommendations.experiments.live
    import recommendations.marketing.campaigns.selection
    import recommendations.popularity
    import recommendations.registry
    import recommendations.serving.reasons
    import recommendations.serving.rendering
    import recommendations.tracking.identity  # noqa: F401

    assert caches.registered() == {
        "model artifacts": {Change.SETTINGS},
        "active models": {Change.MODELS, Change.SETTINGS},
        "catalogue copy": {Change.CATALOGUE, Change.SETTINGS},
        "catalogue adapter": {Change.CATALOGUE, Change.SETTINGS},
        "merchandising rules": {Change.RULES, Change.SETTINGS},
        "running experiments": {Change.EXPERIMENTS, Change.SETTINGS},
        "experiment exposures": {Change.EXPERIMENTS, Change.SETTINGS},
        "active campaigns": {Change.CAMPAIGNS, Change.SETTINGS},
        "campaign exposures": {Change.CAMPAIGNS, Change.SETTINGS},
        "campaign frequency counters": {Change.CAMPAIGNS, Change.SETTINGS},
        "visitor cookie verdicts": {Change.SETTINGS},
        "popularity": {Change.SETTINGS},
        "privacy suppressions": {Change.SETTINGS},
        "reason texts": {Change.SETTINGS},
        "fallback fragments": {
            Change.RULES,
            Change.CATALOGUE,
            Change.MODELS,
            Change.EXPERIMENTS,
            Change.SETTINGS,
        },
    }


def test_saving_a_product_clears_this_process_catalogue_copy(django_capture_on_commit_callbacks):
    category = Category.objects.create(name="Tea", slug="tea")
    product = Product.objects.create(
        sku="T1", title="Green tea", category=category, price=Decimal("3.50"), stock=4
    )
    catalogue_copy._items = {str(product.pk): None}
    catalogue_copy._version = b"1"
    with django_capture_on_commit_callbacks(execute=True):
        product.stock = 0
        product.save()
    assert catalogue_copy._items == {} and catalogue_copy._version is None


def test_a_rule_edit_clears_the_rules_of_every_slot():
    loading._cache["similar"] = (float("inf"), [])
    Rule.objects.create(name="Hide", action=Action.EXCLUDE, item_id="9")
    assert loading._cache == {}


def test_a_promotion_clears_the_active_models_after_commit(django_capture_on_commit_callbacks):
    from recommendations.models import ModelVersion
    from recommendations.registry.versions import activate

    active_models._checked["for_you"] = float("inf")
    version = ModelVersion.objects.create(scenario="for_you", model="popularity", version="p-1")
    with django_capture_on_commit_callbacks(execute=True):
        activate(version, None, "test")
        assert "for_you" in active_models._checked  # not before the commit
    assert active_models._checked == {}


def test_a_settings_change_clears_everything(settings):
    loading._cache["similar"] = (float("inf"), [])
    active_models._checked["for_you"] = float("inf")
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "DEFAULT_LIMIT": 6}
    assert loading._cache == {} and active_models._checked == {}


def test_invalidate_names_what_it_cleared():
    assert set(caches.invalidate(Change.RULES)) == {"merchandising rules", "fallback fragments"}
    assert set(caches.invalidate()) == set(caches.registered())
