"""Model selection on a validation split carved from training data only.

Stores differ: in one, personal taste dominates and EASE or ALS win; in another, everybody buys the
same best-sellers and popularity is as good as anything. So candidates (small hyper-parameter grids
included) are fitted on the training data minus each user's latest item and scored on those items;
the held-out test data of an offline evaluation is never looked at.

Rule: the candidate with the best mean metric wins, except that a non-personal baseline
(popularity, trending) is kept when the winner's advantage over it is within one standard error
of the paired per-row difference. A personal model has to be demonstrably better to be shipped.
Without any validation row (no user with three items yet) only the first, simplest candidate is
fitted and kept.

*References* are configurations to compare with, not to choose from: the host passes the
configurations of its active and recent versions, and they are fitted and scored on the very split
the candidates were scored on. A promotion decision then compares two numbers from one
experiment; a metric stored by an earlier run came from another split and says nothing about
this one.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

import numpy as np
import scipy.sparse as sp
import torch

from .artifacts import Artifact
from .device import resolve_device
from .metrics import per_row_metrics
from .models import (
    ALS,
    EASE,
    BoughtTogether,
    ContentSimilarity,
    Hybrid,
    ItemKNN,
    Popularity,
    Recommender,
    SASRec,
    Trending,
)
from .models.blend import BLEND_WEIGHTS, Blend, sequential_artifact, trained_until
from .models.ease import MAX_ITEMS, CatalogueTooLarge
from .models.fitting import fit_model
from .splits import Split, leave_last_out, split_by, time_split

SCENARIOS = ("for_you", "similar_item", "bought_together")
BASELINES = ("popularity", "trending")
#: Depth of the lists scored (Recall@20 needs 20).
LIST_DEPTH = 20
#: EASE's λ grid, smoothest first. On Online Retail validation picks λ 50 under leave-last-out and
#: λ 350 to 500 under last-basket (flat from 250 to 700; 1,000 and 25 lose on both); each λ is one
#: items x items inversion (about 0.35 s for 3,659 items on 2 cores).
EASE_REGULARIZATIONS = (500.0, 150.0, 50.0)
#: EASE's λ inside the blend with the sequential model (best on Online Retail's validation).
BLEND_EASE_REGULARIZATION = 50.0


@dataclass(frozen=True)
class Candidate:
    """A model family name and a factory for one configuration of it."""

    name: str
    make: Callable[[], Recommender]


#: Family name (as stored with a version) → model class; ``params()`` of each class are keyword
#: arguments of its constructor, so a stored configuration can be rebuilt.
FAMILIES: dict[str, type[Recommender]] = {
    "popularity": Popularity,
    "trending": Trending,
    "itemknn": ItemKNN,
    "ease": EASE,
    "als": ALS,
    "content": ContentSimilarity,
    "hybrid": Hybrid,
    "bought_together": BoughtTogether,
    "sasrec": SASRec,
    # Rebuilt from its parts' families: see candidate_for.
    "blend": Blend,
}


def candidate_for(
    name: str, params: Mapping[str, Any], device: str | torch.device = "auto"
) -> Candidate:
    """The candidate that rebuilds one stored configuration (a version's ``model`` and
    ``params``). Raises ``KeyError`` for a family this engine does not know."""
    if name == Blend.name:
        parts, part_params = list(params["parts"]), list(params["part_params"])
        weights = params.get("weights")
        for part in parts:
            FAMILIES[part]  # a KeyError names the unknown family
        return Candidate(
            name,
            lambda: Blend.from_params(FAMILIES, parts, part_params, weights, device=device),
        )
    family = FAMILIES[name]
    accepted = inspect.signature(family).parameters
    # Artifacts record a few export details beside the configuration (EASE's neighbours).
    settings = {key: value for key, value in params.items() if key in accepted}
    return Candidate(name, lambda: family(**settings, device=device))


@dataclass
class Trial:
    """One candidate's validation result; ``skipped`` says why it was not fitted. ``make``
    builds a fresh, unfitted model of the same configuration."""

    name: str
    params: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    fit_s: float = 0.0
    skipped: str = ""
    per_row: dict[str, np.ndarray] | None = field(default=None, repr=False)
    make: Callable[[], Recommender] | None = field(default=None, repr=False)

    def fresh(self) -> Recommender:
        """A new, unfitted model of this trial's configuration."""
        if self.make is None:
            raise ValueError(f"trial {self.name!r} has no model factory")
        return self.make()


@dataclass
class Selection:
    """The trials of one scenario, the winner, and (with ``refit``) the winner fitted on all the
    training data."""

    scenario: str
    metric: str
    trials: list[Trial]
    best: Trial
    model: Recommender | None = None
    #: Reference configurations scored on the same split, by the caller's label.
    references: dict[str, Trial] = field(default_factory=dict)

    def best_per_family(self) -> dict[str, Trial]:
        """Each family's best configuration on validation."""
        best: dict[str, Trial] = {}
        for trial in self.trials:
            if trial.skipped:
                continue
            current = best.get(trial.name)
            if current is None or trial.metrics[self.metric] > current.metrics[self.metric]:
                best[trial.name] = trial
        return best


def for_you_candidates(
    n_items: int, device: str | torch.device = "auto", with_trending: bool = True
) -> list[Candidate]:
    """Baselines, item-kNN, EASE (when the catalogue fits) and ALS, simplest first."""
    candidates = [Candidate("popularity", lambda: Popularity(device=device))]
    if with_trending:
        candidates.append(Candidate("trending", lambda: Trending(device=device)))
    candidates.append(Candidate("itemknn", lambda: ItemKNN(neighbours=50, device=device)))
    if n_items <= MAX_ITEMS[_device_type(device)]:
        candidates += [
            Candidate("ease", partial(EASE, regularization=lam, device=device))
            for lam in EASE_REGULARIZATIONS
        ]
    candidates += [
        Candidate("als", partial(ALS, factors=f, regularization=reg, alpha=a, device=device))
        for f, reg, a in ((64, 1.0, 5.0), (128, 3.0, 3.0))
    ]
    return candidates


def sequential_candidates(
    n_items: int, device: str | torch.device = "auto", **settings: Any
) -> list[Candidate]:
    """The sequential model (SASRec, with ``settings`` passed to it) and its blend with EASE at
    the λ that wins blends on Online Retail, the blend's weights chosen on validation.

    Not part of :func:`for_you_candidates`: a fit takes a minute or two on a CPU where the others
    take seconds, and order carries signal only where users have sequences, so the caller adds
    them (training does where enough users have three items or more). ``n_items`` decides whether
    EASE fits (the full softmax is over all items; a few thousand are cheap)."""
    sasrec = Candidate("sasrec", partial(SASRec, device=device, **settings))
    if n_items > MAX_ITEMS[_device_type(device)]:
        return [sasrec]
    blend = Candidate(
        "blend",
        lambda: Blend(
            [EASE(regularization=BLEND_EASE_REGULARIZATION, device=device), sasrec.make()],
            device=device,
        ),
    )
    return [sasrec, blend]


def similar_item_candidates(
    n_items: int, device: str | torch.device = "auto", with_features: bool = False
) -> list[Candidate]:
    """Item-to-item candidates; content and hybrid only when item features are given."""
    candidates = [
        Candidate("popularity", lambda: Popularity(device=device)),
        Candidate("itemknn", lambda: ItemKNN(neighbours=100, device=device)),
    ]
    if with_features:
        candidates += [
            Candidate("content", lambda: ContentSimilarity(device=device)),
            Candidate("hybrid", lambda: Hybrid(device=device)),
        ]
    if n_items <= MAX_ITEMS[_device_type(device)]:
        candidates.append(Candidate("ease", lambda: EASE(regularization=150.0, device=device)))
    candidates.append(
        Candidate("als", lambda: ALS(factors=64, regularization=1.0, alpha=5.0, device=device))
    )
    return candidates


def bought_together_candidates(device: str | torch.device = "auto") -> list[Candidate]:
    """Co-purchase tables with different popularity corrections, and item-kNN on baskets."""
    return [
        Candidate("popularity", lambda: Popularity(device=device)),
        Candidate("itemknn", lambda: ItemKNN(neighbours=50, device=device)),
        *(
            Candidate(
                "bought_together",
                partial(BoughtTogether, popularity_exponent=beta, device=device),
            )
            for beta in (0.5, 0.75, 1.0)
        ),
    ]


def select_for_you(
    matrix: sp.csr_matrix,
    times: sp.csr_matrix,
    *,
    candidates: Sequence[Candidate] | None = None,
    references: Mapping[str, Candidate] | None = None,
    features: sp.csr_matrix | None = None,
    metric: str = "ndcg@10",
    protocol: str = "leave_last_out",
    seed: int = 0,
    time_budget_s: float = 300.0,
    refit: bool = True,
    device: str | torch.device = "auto",
    warm_start: Artifact | None = None,
) -> Selection:
    """Pick the user → items model: validate on each user's latest training item, or on the
    split of another ``protocol`` (:func:`~recommendations.engine.splits.split_by`) carved from
    ``matrix``, e.g. ``"last_basket"``: each user's whole latest training basket.

    A blend candidate without weights gets them here: its parts are fitted once (reusing a part
    that is also a candidate of its own) and each weight of
    :data:`~recommendations.engine.models.blend.BLEND_WEIGHTS` is scored on the validation rows;
    the best one stays with the trial, so a refit and the gate's reference rebuild that blend.
    Choosing one number on the same rows flatters the blend a little; the gate's tolerance is
    far wider than that on any store with enough rows for a sequence model.

    ``warm_start``, the active sequential model's artifact (or a blend holding one), turns this
    into a forward test: the pairs first seen after that model's last fit are held out (users
    with earlier pairs only), so the checkpoint itself, never trained on them, is the sequential
    candidate's validation fit, with no minutes of training from scratch. Without enough such
    users (:data:`MIN_FORWARD_USERS`) the usual split is used and everything is fitted afresh."""
    validation = _forward_split(matrix, times, warm_start) or split_by(
        protocol, matrix, times, seed=seed
    )
    if validation.protocol != "time":
        warm_start = None  # the checkpoint saw the held-out items of that split
    users = validation.users
    relevant = validation.test[users]
    candidates = candidates or for_you_candidates(matrix.shape[1], device)

    def score(model: Recommender) -> np.ndarray:
        return model.recommend(users, n=LIST_DEPTH)[0]

    trials, scored = _run_trials(
        candidates,
        references,
        validation.train,
        validation.train_times,
        features,
        score,
        relevant,
        time_budget_s,
        metric,
        warm_start,
    )
    return _finish("for_you", metric, trials, refit, matrix, times, features, scored)


#: Fewest users with new pairs for an incremental run's forward test of the sequential model.
MIN_FORWARD_USERS = 10


def _forward_split(
    matrix: sp.csr_matrix, times: sp.csr_matrix, warm_start: Artifact | None
) -> Split | None:
    """The pairs after ``warm_start``'s last fit held out, or ``None`` when there is no such
    checkpoint or too few users to test it on."""
    until = trained_until(warm_start) if warm_start is not None else None
    if until is None:
        return None
    split = time_split(matrix, times, cutoff=float(np.nextafter(until, np.inf)))
    return split if len(split.users) >= MIN_FORWARD_USERS else None


@dataclass
class BlendSelection:
    """The blend refitted on everything (or fitted on the validation part without ``refit``),
    the weight of its second part, and each weight's validation score."""

    model: Blend
    weight: float
    scores: dict[float, float]
    metric: str


def select_blend(
    matrix: sp.csr_matrix,
    times: sp.csr_matrix,
    first: Candidate,
    second: Candidate,
    *,
    features: sp.csr_matrix | None = None,
    metric: str = "ndcg@10",
    protocol: str = "leave_last_out",
    seed: int = 0,
    refit: bool = True,
) -> BlendSelection:
    """Blend two families (e.g. EASE and the sequential model): each is fitted once on the
    validation split's training part, every weight of :data:`BLEND_WEIGHTS` is scored on its
    held-out items, and the best weight (the smaller one on a tie) is kept. The test items of the
    caller's split are never seen: ``matrix`` is already its training part."""
    validation = split_by(protocol, matrix, times, seed=seed)
    users = validation.users
    relevant = validation.test[users]
    parts = [first.make(), second.make()]
    blend = Blend(parts, [1.0, 0.0]).fit(validation.train, validation.train_times, features)
    scores: dict[float, float] = {}
    for weight in BLEND_WEIGHTS:
        blend.weights = [1.0 - weight, weight]
        top = blend.recommend(users, n=LIST_DEPTH)[0]
        scores[weight] = float(per_row_metrics(top, relevant)[metric].mean())
    best = max(BLEND_WEIGHTS, key=lambda weight: (scores[weight], -weight))
    if refit:
        blend = Blend([first.make(), second.make()], [1.0 - best, best]).fit(
            matrix, times, features
        )
    blend.weights = [1.0 - best, best]
    return BlendSelection(model=blend, weight=best, scores=scores, metric=metric)


def select_similar_item(
    matrix: sp.csr_matrix,
    times: sp.csr_matrix,
    *,
    features: sp.csr_matrix | None = None,
    candidates: Sequence[Candidate] | None = None,
    references: Mapping[str, Candidate] | None = None,
    metric: str = "ndcg@10",
    seed: int = 0,
    time_budget_s: float = 300.0,
    refit: bool = True,
    device: str | torch.device = "auto",
) -> Selection:
    """Pick the item → items model: from each user's latest remaining training item, how well is
    their held-out next item ranked among its neighbours?"""
    validation = leave_last_out(matrix, times, seed=seed)
    users = validation.users
    queries = _latest_items(validation.train_times[users])
    has_query = queries >= 0
    queries, relevant = queries[has_query], validation.test[users[has_query]]
    candidates = candidates or similar_item_candidates(
        matrix.shape[1], device, with_features=features is not None
    )

    def score(model: Recommender) -> np.ndarray:
        return model.similar_items(queries, n=LIST_DEPTH)[0]

    trials, scored = _run_trials(
        candidates,
        references,
        validation.train,
        validation.train_times,
        features,
        score,
        relevant,
        time_budget_s,
    )
    return _finish("similar_item", metric, trials, refit, matrix, times, features, scored)


def select_bought_together(
    baskets: sp.csr_matrix,
    basket_times: np.ndarray,
    *,
    candidates: Sequence[Candidate] | None = None,
    references: Mapping[str, Candidate] | None = None,
    metric: str = "ndcg@10",
    validation_fraction: float = 0.1,
    seed: int = 0,
    time_budget_s: float = 300.0,
    refit: bool = True,
    device: str | torch.device = "auto",
) -> Selection:
    """Pick the basket-completion model: the latest ``validation_fraction`` of baskets (with two
    items or more) are held out; one random item of each is the query, the rest are relevant."""
    baskets = sp.csr_matrix(baskets, dtype=np.float32)
    basket_times = np.asarray(basket_times, dtype=np.float64)
    cutoff = np.quantile(basket_times, 1.0 - validation_fraction)
    earlier = basket_times < cutoff
    later = np.flatnonzero(~earlier & (np.diff(baskets.indptr) >= 2))
    rng = np.random.default_rng(seed)
    held = baskets[later]
    lengths = np.diff(held.indptr)
    picks = held.indptr[:-1] + (rng.random(len(later)) * lengths).astype(np.int64)
    queries = held.indices[picks].astype(np.int64)
    relevant = held.copy()
    relevant.data[picks] = 0.0
    relevant.eliminate_zeros()
    candidates = candidates or bought_together_candidates(device)

    def score(model: Recommender) -> np.ndarray:
        return model.similar_items(queries, n=LIST_DEPTH)[0]

    trials, scored = _run_trials(
        candidates, references, baskets[earlier], None, None, score, relevant, time_budget_s
    )
    return _finish("bought_together", metric, trials, refit, baskets, None, None, scored)


def _run_trials(
    candidates: Sequence[Candidate],
    references: Mapping[str, Candidate] | None,
    train: sp.csr_matrix,
    times: sp.csr_matrix | None,
    features: sp.csr_matrix | None,
    score: Callable[[Recommender], np.ndarray],
    relevant: sp.csr_matrix,
    time_budget_s: float,
    metric: str = "ndcg@10",
    warm_start: Artifact | None = None,
) -> tuple[list[Trial], dict[str, Trial]]:
    """The candidates' trials, then each reference configuration scored on the same split (by
    its label). A configuration that was also a candidate is not fitted twice: its trial is the
    reference's. References ignore the time budget: a decision cannot be made without them."""
    started = time.perf_counter()
    trials = []
    fitted = _FittedParts([*candidates, *(references or {}).values()], warm_start)
    for candidate in candidates:
        model = candidate.make()
        trial = Trial(candidate.name, model.params(), make=candidate.make)
        trials.append(trial)
        if trials[:-1] and relevant.shape[0] == 0:
            trial.skipped = "no validation rows: the simplest candidate is kept"
            continue
        if trials[:-1] and time.perf_counter() - started > time_budget_s:
            trial.skipped = "time budget spent"
            continue
        if isinstance(model, Blend):
            _score_blend(trial, model, fitted, train, times, features, score, relevant, metric)
            continue
        _score_trial(trial, model, train, times, features, score, relevant, fitted.warm_start)
        fitted.keep(model)
    scored: dict[str, Trial] = {}
    for label, reference in (references or {}).items():
        model = reference.make()
        params = model.params()
        same = next(
            (
                trial
                for trial in trials
                if trial.name == reference.name and trial.params == params and not trial.skipped
            ),
            None,
        )
        if same is None:
            same = Trial(reference.name, params, make=reference.make)
            if relevant.shape[0] == 0:
                same.skipped = "no validation rows"
            elif isinstance(model, Blend):
                _score_blend(same, model, fitted, train, times, features, score, relevant, metric)
            else:
                _score_trial(
                    same, model, train, times, features, score, relevant, fitted.warm_start
                )
                fitted.keep(model)
        scored[label] = same
    return trials, scored


def _score_trial(
    trial: Trial,
    model: Recommender,
    train: sp.csr_matrix,
    times: sp.csr_matrix | None,
    features: sp.csr_matrix | None,
    score: Callable[[Recommender], np.ndarray],
    relevant: sp.csr_matrix,
    warm_start: Artifact | None = None,
) -> None:
    """Fit ``model`` and score it; ``warm_start`` (a checkpoint that never saw the held-out
    cells) is continued by the sequential model, ignored by the other families."""
    if not isinstance(model, SASRec):
        warm_start = None
    if trial.name == "trending" and times is None:
        trial.skipped = "no interaction times"
        return
    if trial.name in ("content", "hybrid") and features is None:
        trial.skipped = "no item features"
        return
    fit_started = time.perf_counter()
    try:
        fit_model(model, train, times=times, features=features, warm_start=warm_start)
    except CatalogueTooLarge as exc:
        trial.skipped = str(exc)
        return
    trial.fit_s = time.perf_counter() - fit_started
    per_row = per_row_metrics(score(model), relevant)
    trial.metrics = {
        name: float(values.mean()) if len(values) else 0.0 for name, values in per_row.items()
    }
    trial.per_row = per_row


class _FittedParts:
    """Models fitted on the validation split that a blend among the candidates reuses."""

    def __init__(self, candidates: Sequence[Candidate], warm_start: Artifact | None) -> None:
        #: The sequential checkpoint a sequential part continues from (a forward test only).
        self.warm_start = sequential_artifact(warm_start) if warm_start is not None else None
        self.wanted = {
            _configuration(part)
            for candidate in candidates
            if candidate.name == Blend.name
            for part in cast(Blend, candidate.make()).parts
        }
        self.models: dict[tuple[str, str], Recommender] = {}

    def keep(self, model: Recommender) -> None:
        if _configuration(model) in self.wanted:
            self.models[_configuration(model)] = model

    def get(self, model: Recommender) -> Recommender | None:
        return self.models.get(_configuration(model))


def _configuration(model: Recommender) -> tuple[str, str]:
    return model.name, repr(sorted(model.params().items()))


def _score_blend(
    trial: Trial,
    blend: Blend,
    fitted: _FittedParts,
    train: sp.csr_matrix,
    times: sp.csr_matrix | None,
    features: sp.csr_matrix | None,
    score: Callable[[Recommender], np.ndarray],
    relevant: sp.csr_matrix,
    metric: str,
) -> None:
    """Fit (or reuse) the blend's parts, then, for a blend without weights, choose the weight of
    its second part on the validation rows; the trial records the weights it scored with."""
    fit_started = time.perf_counter()
    for index, part in enumerate(blend.parts):
        reused = fitted.get(part)
        if reused is not None:
            blend.parts[index] = reused
            continue
        warm_start = fitted.warm_start if isinstance(part, SASRec) else None
        try:
            fit_model(part, train, times=times, features=features, warm_start=warm_start)
        except CatalogueTooLarge as exc:
            trial.skipped = str(exc)
            return
        fitted.keep(part)
    blend.with_fitted(train)
    trial.fit_s = time.perf_counter() - fit_started
    choices = [blend.weights] if blend.tuned or len(blend.parts) != 2 else None
    best: tuple[float, dict[str, np.ndarray], list[float]] | None = None
    for weights in choices or [[round(1.0 - w, 6), w] for w in BLEND_WEIGHTS]:
        blend.weights = list(weights)
        per_row = per_row_metrics(score(blend), relevant)
        value = float(per_row[metric].mean()) if len(per_row[metric]) else 0.0
        if best is None or value > best[0]:
            best = (value, per_row, list(weights))
    assert best is not None
    _, per_row, weights = best
    blend.weights = weights
    trial.params = blend.params()
    trial.metrics = {
        name: float(values.mean()) if len(values) else 0.0 for name, values in per_row.items()
    }
    trial.per_row = per_row
    make = trial.make
    if make is not None:
        trial.make = lambda: _with_weights(cast(Blend, make()), weights)


def _with_weights(blend: Blend, weights: list[float]) -> Blend:
    blend.weights, blend.tuned = list(weights), True
    return blend


def _finish(
    scenario: str,
    metric: str,
    trials: list[Trial],
    refit: bool,
    matrix: sp.csr_matrix,
    times: sp.csr_matrix | None,
    features: sp.csr_matrix | None,
    references: dict[str, Trial] | None = None,
) -> Selection:
    # The caller lists the configuration in service first among its references.
    incumbent = next(iter(references.values()), None) if references else None
    best = choose(trials, metric, incumbent)
    model = None
    if refit:
        model = fit_model(best.fresh(), matrix, times=times, features=features)
    return Selection(scenario, metric, trials, best, model, references or {})


def choose(trials: Sequence[Trial], metric: str, incumbent: Trial | None = None) -> Trial:
    """Best mean ``metric``; a baseline within one standard error of it wins instead.

    With an ``incumbent`` (the configuration in service, scored on the same split) that is one
    of ``trials``, the incumbent takes the baseline's place: a challenger must beat the model
    already serving demonstrably, and so must popularity to replace a personal model. Without
    this, a baseline kept by the standard-error rule would be a change of model the gate then
    rejects as worse than the incumbent. Candidates are expected simplest first: on a tie the
    earlier one wins."""
    fitted = [trial for trial in trials if not trial.skipped]
    if not fitted:
        raise ValueError("no candidate could be fitted")
    best = max(fitted, key=lambda trial: trial.metrics[metric])
    if incumbent is not None and any(trial is incumbent for trial in fitted):
        return incumbent if _within_one_standard_error(best, incumbent, metric) else best
    for trial in fitted:
        if trial.name not in BASELINES or trial is best:
            continue
        if _within_one_standard_error(best, trial, metric):
            return trial
    return best


def _within_one_standard_error(best: Trial, other: Trial, metric: str) -> bool:
    """Whether ``best``'s advantage over ``other`` is no more than its paired standard error."""
    if best is other:
        return True
    if best.per_row is None or other.per_row is None:
        raise ValueError("only scored trials can be compared")
    difference = best.per_row[metric] - other.per_row[metric]
    standard_error = (
        difference.std(ddof=1) / np.sqrt(len(difference)) if len(difference) > 1 else 0.0
    )
    return bool(difference.mean() <= standard_error)


def _latest_items(times: sp.csr_matrix) -> np.ndarray:
    """Each row's most recent item, ``-1`` for empty rows."""
    times = sp.csr_matrix(times)
    rows = np.repeat(np.arange(times.shape[0]), np.diff(times.indptr))
    order = np.lexsort((times.data, rows))
    last = order[np.r_[rows[order][1:] != rows[order][:-1], True]] if len(rows) else order
    latest = np.full(times.shape[0], -1, dtype=np.int64)
    latest[rows[last]] = times.indices[last]
    return latest


def _device_type(device: str | torch.device) -> str:
    return resolve_device(device).type


__all__ = [
    "BLEND_WEIGHTS",
    "FAMILIES",
    "SCENARIOS",
    "BlendSelection",
    "Candidate",
    "Selection",
    "Trial",
    "bought_together_candidates",
    "candidate_for",
    "choose",
    "fit_model",
    "for_you_candidates",
    "select_blend",
    "select_bought_together",
    "select_for_you",
    "select_similar_item",
    "sequential_candidates",
    "similar_item_candidates",
]
