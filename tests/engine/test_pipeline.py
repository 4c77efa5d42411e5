import io
import json

import numpy as np
import pytest

from recommendations.engine.artifacts import load_scorer, save_artifact
from recommendations.engine.data import EventLog
from recommendations.engine.models import ALS
from recommendations.engine.pipeline import train
from recommendations.engine.selection import fit_model

from .synthetic import clustered


def events():
    matrix, times = clustered(n_users=120, n_items=40)
    coo, stamps = matrix.tocoo(), times.tocoo()
    users = np.array([f"u{r}" for r in coo.row])
    items = np.array([f"sku{c}" for c in coo.col])
    log = EventLog.from_columns(users, items, stamps.data, kinds=["purchase"] * len(users))
    # each user's purchases at the same time form one order
    orders = EventLog.from_columns(
        [f"order-{u}-{int(t) // 86400}" for u, t in zip(users, stamps.data, strict=True)],
        items,
        stamps.data,
    )
    catalogue = {f"sku{i}": {"title": f"{'mug' if i < 20 else 'chair'} {i}"} for i in range(41)}
    return log, orders, catalogue


def test_train_selects_every_scenario_and_exports_keyed_artifacts():
    log, orders, catalogue = events()
    trained = train(log, orders=orders, catalogue=catalogue, time_budget_s=60)
    assert set(trained.selections) == {"for_you", "similar_item", "bought_together"}
    assert "sku40" in trained.interactions.item_map  # in the catalogue, never bought
    report = trained.report()
    json.dumps(report)
    assert report["scenarios"]["for_you"]["selected"] != "popularity"
    artifacts = trained.artifacts()
    assert set(artifacts) == {"for_you", "similar_item", "bought_together", "trending"}
    for artifact in artifacts.values():
        buffer = io.BytesIO()
        save_artifact(artifact, buffer)
        scorer = load_scorer(buffer.getvalue())
        assert scorer.artifact.item_keys.tolist() == trained.interactions.item_map.keys
        assert scorer.n_items == 41


def test_train_without_orders_skips_bought_together():
    log, _, _ = events()
    trained = train(log, scenarios=["for_you"], time_budget_s=30)
    assert set(trained.selections) == {"for_you"}
    with pytest.raises(ValueError, match="unknown scenario"):
        train(log, scenarios=["mystery"])


def test_refit_warm_starts_als_only_with_matching_factors():
    matrix = clustered()[0]
    previous = ALS(factors=8, iterations=3).fit(matrix).to_artifact(include_users=True)
    warm = fit_model(ALS(factors=8, iterations=1), matrix, warm_start=previous)
    cold = fit_model(ALS(factors=8, iterations=1), matrix)
    assert warm.loss() < cold.loss()
    other = fit_model(ALS(factors=4, iterations=1), matrix, warm_start=previous)
    assert other.factors == 4
