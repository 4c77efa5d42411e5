"""One call from an event log to fitted, selected, exportable models for every scenario.

This is the entry point for the host application's training task: it passes plain arrays (an
:class:`~recommendations.engine.data.EventLog`, optionally the order lines and catalogue texts) and
gets back per-scenario selections whose models export to torch-free artifacts carrying their item
keys.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from .artifacts import Artifact
from .data import EventLog, Interactions, MatrixConfig, build_interactions
from .features import item_features
from .indexmap import IndexMap
from .models import Trending
from .models.neighbours import forget_cooccurrences
from .selection import (
    SCENARIOS,
    Candidate,
    Selection,
    Trial,
    fit_model,
    for_you_candidates,
    select_bought_together,
    select_for_you,
    select_similar_item,
    sequential_candidates,
)


@dataclass
class TrainedModels:
    """The matrix trained on, one :class:`Selection` per scenario, and trending items."""

    interactions: Interactions
    selections: dict[str, Selection]
    trending: Trending

    def artifacts(self) -> dict[str, Artifact]:
        """``{"for_you": ..., "similar_item": ..., "bought_together": ..., "trending": ...}``
        for the scenarios that were trained, each with the item keys attached."""
        models = {name: selection.model for name, selection in self.selections.items()}
        models["trending"] = self.trending
        keys = self.interactions.item_map.to_array()
        exported = {}
        for name, model in models.items():
            if model is None:
                continue
            artifact = model.to_artifact()
            artifact.item_keys = keys
            exported[name] = artifact
        return exported

    def report(self) -> dict[str, Any]:
        """JSON-able validation results: per scenario the winner and every trial's metrics."""
        return {
            "users": self.interactions.shape[0],
            "items": self.interactions.shape[1],
            "cells": int(self.interactions.matrix.nnz),
            "scenarios": {
                name: {
                    "selected": selection.best.name,
                    "params": selection.best.params,
                    "metric": selection.metric,
                    "validation": selection.best.metrics,
                    "trials": [_trial_report(trial) for trial in selection.trials],
                    "references": {
                        label: _trial_report(trial) for label, trial in selection.references.items()
                    },
                }
                for name, selection in self.selections.items()
            },
        }


def _trial_report(trial: Trial) -> dict[str, Any]:
    return {
        "name": trial.name,
        "params": trial.params,
        "metrics": trial.metrics,
        "fit_s": trial.fit_s,
        "skipped": trial.skipped,
    }


def train(
    log: EventLog,
    *,
    config: MatrixConfig | None = None,
    user_map: IndexMap | None = None,
    item_map: IndexMap | None = None,
    exclude_users: Collection[object] = (),
    orders: EventLog | None = None,
    catalogue: Mapping[str, Mapping[str, Any]] | None = None,
    scenarios: Sequence[str] = SCENARIOS,
    candidates: Mapping[str, Sequence[Candidate]] | None = None,
    references: Mapping[str, Mapping[str, Candidate]] | None = None,
    warm_start: Artifact | None = None,
    sequential_min_users: int | None = None,
    time_budget_s: float = 300.0,
    seed: int = 0,
    device: str | torch.device = "auto",
) -> TrainedModels:
    """Build the matrix, then select and refit a model per scenario.

    ``orders``: one entry per order line, with the order id in ``users`` (bought-together is
    skipped without it). ``catalogue``: item key → ``{"title", "description", "category",
    "price"}`` (any may be missing); its keys join the item index even without interactions, so
    content similarity reaches brand-new items. ``warm_start``, the previous for-you artifact,
    continues the refit of a winner of its family: ALS with the same number of factors, the
    sequential model (fine-tuned on the users with new events), a blend's sequential part (pass
    the previous maps too, so rows line up). ``sequential_min_users``: the sequential model and
    its blend with EASE join the for-you candidates of a full search when at least that many
    users have three items or more (``None``: never).
    ``candidates``: per scenario, the configurations to choose from instead of the full grid (an
    incremental run passes the active family and popularity). ``references``: per scenario,
    labelled configurations scored on the same validation split as the candidates, for the
    caller's promotion decision (see :class:`~recommendations.engine.selection.Selection`).
    """
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        raise ValueError(f"unknown scenario(s) {sorted(unknown)}; expected some of {SCENARIOS}")
    if item_map is not None or catalogue:
        item_map = item_map.copy() if item_map is not None else IndexMap()
        item_map.add(sorted(catalogue or ()))
    interactions = build_interactions(
        log, config, user_map=user_map, item_map=item_map, exclude_users=exclude_users
    )
    matrix, times = interactions.matrix, interactions.times
    features = _features(interactions.item_map, catalogue) if catalogue else None
    selections: dict[str, Selection] = {}

    def options(scenario: str) -> dict[str, Any]:
        """What every scenario's selection is given: its choices and the run's settings."""
        return {
            "candidates": (candidates or {}).get(scenario),
            "references": (references or {}).get(scenario),
            "seed": seed,
            "time_budget_s": time_budget_s,
            "device": device,
        }

    if "for_you" in scenarios:
        settings = options("for_you")
        if settings["candidates"] is None and _has_sequences(matrix, sequential_min_users):
            settings["candidates"] = [
                *for_you_candidates(matrix.shape[1], device),
                *sequential_candidates(matrix.shape[1], device, seed=seed),
            ]
        selection = select_for_you(
            matrix, times, refit=False, features=features, warm_start=warm_start, **settings
        )
        model = selection.best.fresh()
        selection.model = fit_model(
            model, matrix, times=times, features=features, warm_start=warm_start
        )
        selections["for_you"] = selection
    if "similar_item" in scenarios:
        selections["similar_item"] = select_similar_item(
            matrix, times, features=features, **options("similar_item")
        )
    if "bought_together" in scenarios and orders is not None and len(orders):
        baskets, basket_times = _baskets(orders, interactions.item_map)
        if baskets.nnz:
            selections["bought_together"] = select_bought_together(
                baskets, basket_times, **options("bought_together")
            )
    trending = Trending(device=device).fit(matrix, times)
    forget_cooccurrences()
    return TrainedModels(interactions, selections, trending)


def _has_sequences(matrix: sp.csr_matrix, min_users: int | None) -> bool:
    """Whether enough users have a sequence (three items or more) for order to be learnt."""
    if min_users is None:
        return False
    return int((np.diff(matrix.indptr) >= 3).sum()) >= min_users


def _baskets(orders: EventLog, item_map: IndexMap) -> tuple[sp.csr_matrix, np.ndarray]:
    """Order x item (binary, known items only) and each order's time."""
    items = item_map.lookup(orders.items)
    known = items >= 0
    order_keys, order_index = np.unique(orders.users[known], return_inverse=True)
    order_index = order_index.ravel()
    baskets = sp.csr_matrix(
        (np.ones(int(known.sum()), np.float32), (order_index, items[known])),
        shape=(len(order_keys), len(item_map)),
    )
    baskets.sum_duplicates()
    baskets.data[:] = 1.0
    times = np.full(len(order_keys), np.inf)
    np.minimum.at(times, order_index, orders.timestamps[known])
    return baskets, times


def _features(item_map: IndexMap, catalogue: Mapping[str, Mapping[str, Any]]) -> sp.csr_matrix:
    rows = [catalogue.get(key, {}) for key in item_map.keys]
    return item_features(
        [str(row.get("title") or "") for row in rows],
        descriptions=[str(row.get("description") or "") for row in rows],
        categories=[row.get("category") for row in rows],
        prices=[row.get("price") for row in rows],
    )
