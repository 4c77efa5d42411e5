"""Offline evaluation: split by time, fit candidates, score held-out items, report and select.

Reference protocol (leave-last-out by time): every (user, item) pair counts once, stamped with its
first time; each user with at least 3 items gives up the latest (ties broken by a seeded shuffle);
all items are ranked, minus the user's training history. The stricter ``"last_basket"`` protocol
holds out each user's whole latest basket (every item sharing their latest timestamp), so the
held-out items' basket-mates are not in training either; users with a single basket stay in
training only. The ``"time"`` protocol holds out everything after a global cut-off.

The ``selected`` model is chosen on a validation split carved from the training part only, by the
same protocol; the held-out test items never influence the choice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import torch

from .data import EventLog, Interactions, MatrixConfig, build_interactions
from .datasets import parse_timestamp, read_interactions_csv
from .metrics import coverage, intra_list_diversity, ranking_metrics
from .models import Blend, Recommender
from .selection import (
    LIST_DEPTH,
    Candidate,
    fit_model,
    for_you_candidates,
    select_for_you,
    sequential_candidates,
)
from .splits import Split, split_by

Protocol = Literal["leave_last_out", "last_basket", "time"]


def evaluate_model(
    model: Recommender,
    split: Split,
    *,
    features: sp.csr_matrix | None = None,
    from_history: bool = False,
) -> dict[str, float]:
    """HR@10, Recall@20, NDCG@10 and coverage@10 (plus diversity@10 with item ``features``) of a
    model already fitted on ``split.train``. ``from_history`` scores users from their training
    rows instead of as rows of the fit matrix (for models fitted on other rows, like baskets)."""
    users = split.users
    if from_history:
        top, _ = model.recommend_history(split.train[users], n=LIST_DEPTH)
    else:
        top, _ = model.recommend(users, n=LIST_DEPTH)
    result = ranking_metrics(top, split.test[users])
    result["coverage@10"] = coverage(top, split.train.shape[1])
    if features is not None:
        result["diversity@10"] = intra_list_diversity(top, features)
    return result


def evaluate_interactions(
    data: Any,
    *,
    protocol: Protocol = "leave_last_out",
    seed: int = 0,
    min_items: int = 3,
    test_fraction: float = 0.2,
    candidates: Sequence[Candidate] | None = None,
    features: sp.csr_matrix | None = None,
    time_budget_s: float = 300.0,
    device: str | torch.device = "auto",
    sequential: bool = False,
) -> dict[str, Any]:
    """Evaluate every candidate family and say which one validation selects.

    ``data``: an :class:`~recommendations.engine.data.Interactions`, an
    :class:`~recommendations.engine.data.EventLog`, a CSV path (see
    :func:`~recommendations.engine.datasets.read_interactions_csv`) or a table with ``user``,
    ``item``, ``timestamp`` and optional ``weight`` columns (a dict of arrays, a DataFrame). Pairs
    are binary unless weights are given. ``features`` (rows aligned with the item index) adds
    diversity@10 and is the sequential model's side input, as the catalogue is in training. ``protocol``: ``"leave_last_out"`` (the reference), ``"last_basket"`` or
    ``"time"``; model selection validates on a split of the training part by the same protocol.

    Returns ``{"protocol": ..., "models": {name: {"hr@10", "recall@20", "ndcg@10", "fit_s",
    "coverage@10", "validation_ndcg@10", "params"}}, "selected": name}``. Each family is
    represented by its best configuration on validation, refitted on the whole training part.
    ``sequential`` adds the sequential model (``sasrec``) and its blend with EASE (``blend``, its
    weights chosen on the same validation split), as full training runs do; the blend reuses the
    families' refits where its parts have their configurations.
    """
    interactions = data if isinstance(data, Interactions) else interactions_from(data)
    split = split_by(
        protocol,
        interactions.matrix,
        interactions.times,
        min_items=min_items,
        seed=seed,
        test_fraction=test_fraction,
    )
    if split.test.nnz == 0:
        raise ValueError("no user has enough interactions to hold one out")

    candidates = list(candidates or for_you_candidates(split.train.shape[1], device))
    if sequential:
        candidates += sequential_candidates(split.train.shape[1], device, seed=seed)
    selection = select_for_you(
        split.train,
        split.train_times,
        candidates=candidates,
        features=features,
        protocol=protocol,
        seed=seed,
        time_budget_s=time_budget_s,
        refit=False,
    )
    models: dict[str, dict[str, Any]] = {}
    fitted: dict[str, Recommender] = {}
    best = selection.best_per_family()
    # A blend last: its parts are the families' own refits when their configurations match.
    for name, trial in sorted(best.items(), key=lambda pair: pair[0] == Blend.name):
        model = trial.fresh()
        started = time.perf_counter()
        if isinstance(model, Blend):
            model.parts = [_refitted(part, fitted) for part in model.parts]
            for part in model.parts:
                if part.train is None:
                    fit_model(part, split.train, times=split.train_times, features=features)
            model.with_fitted(split.train)
        else:
            fit_model(model, split.train, times=split.train_times, features=features)
        fit_s = time.perf_counter() - started
        fitted[name] = model
        models[name] = {
            **evaluate_model(model, split, features=features),
            "fit_s": fit_s,
            "validation_ndcg@10": trial.metrics[selection.metric],
            "params": trial.params,
        }
    selected = selection.best.name
    return {"protocol": protocol, "models": models, "selected": selected}


def _refitted(part: Recommender, fitted: Mapping[str, Recommender]) -> Recommender:
    """The family's refitted model when it has ``part``'s configuration, else ``part``."""
    same = fitted.get(part.name)
    return same if same is not None and same.params() == part.params() else part


def interactions_from(data: Any, config: MatrixConfig | None = None) -> Interactions:
    """Pairs from an event log, CSV path or column table; binary unless weights are given."""
    log = as_event_log(data)
    if config is None:
        weighted = not np.all(log.weights == 1.0)
        config = MatrixConfig(binary=not weighted, pair_time="first")
    return build_interactions(log, config)


def as_event_log(data: Any) -> EventLog:
    """Accept an :class:`EventLog`, a CSV path, or a table of ``user``, ``item``, ``timestamp``
    (ISO 8601 strings, Unix seconds or datetime64) and optional ``weight`` columns."""
    if isinstance(data, EventLog):
        return data
    if isinstance(data, str | Path):
        return read_interactions_csv(data)
    if not hasattr(data, "__getitem__"):
        raise ValueError("expected an EventLog, a CSV path or a table with user,item,timestamp")
    columns = list(data.keys()) if isinstance(data, Mapping) else list(data.columns)
    missing = [name for name in ("user", "item", "timestamp") if name not in columns]
    if missing:
        raise ValueError(
            f"missing column(s) {', '.join(missing)}; got: {', '.join(map(str, columns))}"
        )
    weights = np.asarray(data["weight"], dtype=np.float32) if "weight" in columns else None
    return EventLog.from_columns(
        np.asarray(data["user"]),
        np.asarray(data["item"]),
        _timestamps(np.asarray(data["timestamp"])),
        weights=weights,
    )


def _timestamps(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "M":
        return values.astype("datetime64[ns]").astype(np.int64) / 1e9
    if values.dtype.kind in "iuf":
        return values.astype(np.float64)
    parsed = np.empty(len(values))
    for row, value in enumerate(values):
        try:
            parsed[row] = parse_timestamp(str(value))
        except ValueError:
            raise ValueError(f"bad timestamp {str(value)!r} in row {row}") from None
    return parsed
