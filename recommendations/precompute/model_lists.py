"""Lists from the active model versions: per user (for-you) and per item (similar,
bought-together), scored with numpy/scipy on the artifacts (no torch)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from recommendations.conf import app_settings
from recommendations.stores import RankedList, get_store
from recommendations.suppression import suppressed_user_keys
from recommendations.types import Relation, Scenario, Slot

from .also_viewed import refresh_also_viewed

logger = logging.getLogger("recommendations.training")

#: ``score(rows, history) -> dense block`` of one block of users.
UserScorer = Callable[[np.ndarray, sp.csr_matrix], np.ndarray]

#: Artifact kinds whose scores depend on the order of a user's items.
ORDERED_KINDS = ("sequence", "blend")

#: Users scored per block: bounds the dense users x items buffer.
USER_BLOCK = 1024
MODEL_SCENARIOS = (Scenario.FOR_YOU, Scenario.SIMILAR_ITEM, Scenario.BOUGHT_TOGETHER)


@dataclass(frozen=True, slots=True)
class Shard:
    """One of ``count`` disjoint parts of the work: the users (and items) at positions
    ``index``, ``index + count``, ``index + 2 * count``… of the run's order. Several workers
    each writing one shard write every list once between them, with nothing to coordinate: no
    chord waits for them and none needs another's output."""

    index: int
    count: int

    def pick(self, positions: np.ndarray) -> np.ndarray:
        return positions[self.index :: self.count]


WHOLE = Shard(0, 1)


def refresh_model_lists(
    scenarios: Iterable[str] | None = None,
    *,
    progress: bool | None = None,
    shard: Shard = WHOLE,
) -> dict[str, int]:
    """Write the active versions' lists to the store; returns lists written per kind.

    * ``for_you`` → ``user:<user_id>`` for every signed-in user in the newest training state, top
      ``PRECOMPUTE_LENGTH`` items minus what the user already interacted with. Visitors
      (``v:<visitor id>`` keys) are not written: serving folds them in from their recent items.
    * ``similar_item`` → ``item:<id>:similar``.
    * ``bought_together`` → ``item:<id>:bought-together``.
    * with ``scenarios=None`` also ``item:<id>:also-viewed`` (:func:`refresh_also_viewed`), by
      the first shard.

    Trending is not written here: ``refresh_popularity`` owns the ``trending`` lists. Scoring is
    numpy/scipy on the artifacts (no torch), in blocks of :data:`USER_BLOCK` users. ``progress``:
    show bars (``None``: only on a terminal). ``shard``: write only that part of each kind's
    lists (:class:`Shard`).
    """
    from recommendations.registry import active_versions, load_version_artifact
    from recommendations.training.state import latest_state

    wanted = set(MODEL_SCENARIOS if scenarios is None else scenarios)
    active = active_versions()
    loaded = latest_state()
    store = get_store()
    length = app_settings.PRECOMPUTE_LENGTH
    disable = None if progress is None else not progress
    written: dict[str, int] = {}
    if Scenario.FOR_YOU in wanted and Scenario.FOR_YOU in active and loaded is not None:
        version = active[Scenario.FOR_YOU]
        written[Slot.FOR_YOU] = write_user_lists(
            store,
            version.version,
            load_version_artifact(version),
            loaded[1],
            length,
            disable,
            shard=shard,
        )
    for scenario in (Scenario.SIMILAR_ITEM, Scenario.BOUGHT_TOGETHER):
        relation = scenario.relation
        if scenario in wanted and scenario in active and relation is not None:
            version = active[scenario]
            written[relation] = write_item_lists(
                store,
                version.version,
                load_version_artifact(version),
                relation,
                length,
                disable,
                shard=shard,
            )
    if scenarios is None and shard.index == 0:
        written[Relation.ALSO_VIEWED] = refresh_also_viewed(loaded)
    return written


def write_user_lists(
    store: Any,
    label: str,
    artifact: Any,
    state: Any,
    length: int,
    disable: bool | None,
    *,
    shard: Shard = WHOLE,
) -> int:
    from recommendations.engine.indexmap import IndexMap

    n_items = len(artifact.item_keys)
    item_keys = np.asarray(artifact.item_keys)
    columns = IndexMap.from_array(item_keys).lookup(state.item_keys)[state.pair_items]
    known = columns >= 0
    weights = state.pair_weights[known]
    if app_settings.TRAINING_MAX_WEIGHT is not None:
        weights = np.minimum(weights, app_settings.TRAINING_MAX_WEIGHT)
    history = sp.csr_matrix(
        (weights.astype(np.float32), (state.pair_users[known], columns[known])),
        shape=(len(state.user_keys), n_items),
    )
    has_history = np.diff(history.indptr) > 0
    real_users = ~np.char.startswith(state.user_keys.astype(np.str_), "v:")
    # A state saved by a run that overlapped an erase may still hold an erased user: never
    # write their list back (recommendations.privacy rewrites the state itself).
    erased = suppressed_user_keys(state.user_keys[real_users].tolist())
    if erased:
        real_users &= ~np.isin(state.user_keys, list(erased))
    users = shard.pick(np.flatnonzero(has_history & real_users))
    if artifact.kind in ORDERED_KINDS:
        pairs = (state.pair_users[known], columns[known], state.pair_times[known])
        score = _ordered_scorer(artifact, history, *pairs)
    else:
        score = _user_scorer(artifact, state.user_keys)
    written = 0
    with tqdm(total=len(users), desc="For-you lists", unit=" users", disable=disable) as bar:
        for start in range(0, len(users), USER_BLOCK):
            rows = users[start : start + USER_BLOCK]
            seen = history[rows]
            block = score(rows, seen)
            block[np.repeat(np.arange(len(rows)), np.diff(seen.indptr)), seen.indices] = -np.inf
            ranked = ranked_rows(item_keys, *top_rows(block, length))
            lists = {f"user:{state.user_keys[row]}": ranked[i] for i, row in enumerate(rows)}
            store.put_many(lists, model_version=label)
            written += len(lists)
            bar.update(len(rows))
    return written


def _user_scorer(artifact: Any, user_keys: np.ndarray) -> UserScorer:
    """``score(rows, history) -> dense block`` for one artifact kind; ``-inf`` = unreachable."""
    arrays = artifact.arrays
    if artifact.kind == "scores":
        scores = arrays["scores"].astype(np.float32)
        return lambda rows, history: np.repeat(scores[None, :], len(rows), axis=0)
    if artifact.kind == "neighbours":
        table = _table(arrays)

        def neighbour_scores(rows: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
            product = (history @ table).tocoo()
            block = np.full(history.shape, -np.inf, dtype=np.float32)
            block[product.row, product.col] = product.data
            return block

        return neighbour_scores
    return _factor_scorer(artifact, user_keys)


def _ordered_scorer(
    artifact: Any,
    history: sp.csr_matrix,
    pair_users: np.ndarray,
    pair_columns: np.ndarray,
    pair_times: np.ndarray,
) -> UserScorer:
    """The sequential model (or a blend holding one): each user's items in time order through
    the numpy scorer, one user at a time (its encoder reads a sequence, not a matrix row).
    ``history`` holds one cell per (user, item) pair, the ``pair_*`` arrays their times."""
    from recommendations.engine.artifacts import load_scorer

    scorer = load_scorer(artifact)
    when = sp.csr_matrix(
        (pair_times.astype(np.float64), (pair_users, pair_columns)), shape=history.shape
    )
    when.sort_indices()
    weights = history.copy()
    weights.sort_indices()

    def ordered_scores(rows: np.ndarray, seen: sp.csr_matrix) -> np.ndarray:
        block = np.empty(seen.shape, dtype=np.float32)
        for i, row in enumerate(rows):
            lo, hi = weights.indptr[row], weights.indptr[row + 1]
            items = weights.indices[lo:hi]
            ranked = np.lexsort((items, when.data[lo:hi]))
            block[i] = scorer.score(items[ranked], weights.data[lo:hi][ranked])
        return block

    return ordered_scores


def _factor_scorer(artifact: Any, user_keys: np.ndarray) -> UserScorer:
    """ALS: the fitted user vector when the user was in training, else a fold-in."""
    from recommendations.engine.artifacts import fold_in
    from recommendations.engine.indexmap import IndexMap

    item_factors = artifact.arrays["item_factors"]
    gram, alpha = artifact.arrays["gram"], float(artifact.params["alpha"])
    fitted = artifact.arrays.get("user_factors")
    fitted_keys = artifact.arrays.get("user_keys")
    if fitted is not None and fitted_keys is not None:
        fitted_rows = IndexMap.from_array(fitted_keys).lookup(user_keys)
    else:
        fitted_rows = np.full(len(user_keys), -1)

    def factor_scores(rows: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        vectors = np.empty((len(rows), item_factors.shape[1]), dtype=item_factors.dtype)
        for i, row in enumerate(rows):
            fitted_row = fitted_rows[row]
            if fitted_row >= 0 and fitted_row < len(fitted):
                vectors[i] = fitted[fitted_row]
            else:
                lo, hi = history.indptr[i], history.indptr[i + 1]
                vectors[i] = fold_in(
                    item_factors, gram, alpha, history.indices[lo:hi], history.data[lo:hi]
                )
        return vectors @ item_factors.T

    return factor_scores


def write_item_lists(
    store: Any,
    label: str,
    artifact: Any,
    relation: str,
    length: int,
    disable: bool | None,
    *,
    shard: Shard = WHOLE,
) -> int:
    if artifact.kind == "scores":
        # Popularity won the gate: it is the same list for every item, not a relation between
        # items, so no "similar to X" / "bought with X" list is written; serving backfills with
        # trending and says so.
        logger.info(
            "%s: the active version ranks items alone; no %s lists written", label, relation
        )
        return 0
    item_keys = np.asarray(artifact.item_keys)
    mine = shard.pick(np.arange(len(item_keys)))
    written = 0
    with tqdm(total=len(mine), desc=f"{relation} lists", unit=" items", disable=disable) as bar:
        for start in range(0, len(mine), USER_BLOCK):
            items = mine[start : start + USER_BLOCK]
            ranked = ranked_rows(item_keys, *_item_neighbours(artifact, items, length))
            lists = {
                f"item:{item_keys[item]}:{relation}": ranked[i]
                for i, item in enumerate(items)
                if ranked[i]
            }
            store.put_many(lists, model_version=label)
            written += len(lists)
            bar.update(len(items))
    return written


def _item_neighbours(
    artifact: Any, items: np.ndarray, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top neighbours of each of ``items`` (never the item itself)."""
    arrays = artifact.arrays
    if artifact.kind == "neighbours":
        block = _table(arrays)[items].toarray()
        block[block == 0] = -np.inf
    elif artifact.kind == "factors":
        factors = arrays["item_factors"]
        unit = factors / np.maximum(np.linalg.norm(factors, axis=1, keepdims=True), 1e-12)
        block = unit[items] @ unit.T
    else:
        block = np.repeat(arrays["scores"].astype(np.float32)[None, :], len(items), axis=0)
    block[np.arange(len(items)), items] = -np.inf
    return top_rows(block, length)


def _table(arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    n = len(arrays["indptr"]) - 1
    return sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=(n, n))


def top_rows(block: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top ``n`` column indices and values, best first."""
    n = min(n, block.shape[1])
    if n == 0:
        empty = np.empty((block.shape[0], 0))
        return empty.astype(np.int64), empty
    part = np.argpartition(-block, n - 1, axis=1)[:, :n]
    values = np.take_along_axis(block, part, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(values, order, axis=1)


def ranked_rows(item_keys: np.ndarray, top: np.ndarray, values: np.ndarray) -> list[RankedList]:
    """One ranked list per row, without the unreachable (``-inf``) tail."""
    lengths = np.isfinite(values).sum(axis=1).tolist()
    keys, scores = item_keys[top].tolist(), values.tolist()
    return [list(zip(keys[i][:n], scores[i][:n], strict=True)) for i, n in enumerate(lengths)]
