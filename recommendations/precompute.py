"""Writing ranked lists to the store ahead of requests, so serving only reads."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from .catalog import get_catalog
from .conf import app_settings
from .serving.sources import computed_popularity
from .serving.stores import CONTENT_LABEL, RankedList, get_store

logger = logging.getLogger("recommendations.training")


def refresh_popularity() -> dict[str, int]:
    """Trending and popular lists, overall and per category, from the event table.

    Returns the number of lists written per kind.
    """
    length = app_settings.PRECOMPUTE_LENGTH
    lists: dict[str, RankedList] = {}
    written: dict[str, int] = {}
    for name, decay in (("trending", True), ("popular", False)):
        ranked = computed_popularity(decay=decay, size=length * 20, use_cache=False)
        lists[name] = ranked[:length]
        infos = get_catalog().describe([item_id for item_id, _ in ranked])
        by_category: dict[str, RankedList] = defaultdict(list)
        for item_id, score in ranked:
            info = infos.get(item_id)
            if info is not None and info.category and len(by_category[info.category]) < length:
                by_category[info.category].append((item_id, score))
        for category, items in by_category.items():
            lists[f"{name}:category:{category}"] = items
        written[name] = 1 + len(by_category)
    get_store().put_many(lists)
    return written


# --- Lists from the active model versions --------------------------------------------------------

#: Users scored per block: bounds the dense users x items score buffer (1024 x 10k items ≈ 40 MB).
USER_BLOCK = 1024
#: Two items are "also viewed" when at least this many visitors viewed both.
ALSO_VIEWED_MIN_COUNT = 2
MODEL_SCENARIOS = ("for_you", "similar_item", "bought_together")


def refresh_model_lists(
    scenarios: Iterable[str] | None = None, *, progress: bool | None = None
) -> dict[str, int]:
    """Write the active versions' lists to the store; returns lists written per kind.

    * ``for_you`` → ``user:<user_id>`` for every signed-in user in the newest training state, top
      ``PRECOMPUTE_LENGTH`` items minus what the user already interacted with. Visitors
      (``v:<visitor id>`` keys) are not written: serving folds them in from their recent items.
    * ``similar_item`` → ``item:<id>:similar``.
    * ``bought_together`` → ``item:<id>:bought-together``.
    * with ``scenarios=None`` also ``item:<id>:also-viewed`` (:func:`refresh_also_viewed`).

    Trending is not written here: ``refresh_popularity`` owns the ``trending`` lists. Scoring is
    numpy/scipy on the artifacts (no torch), in blocks of :data:`USER_BLOCK` users. ``progress``:
    show bars (``None``: only on a terminal).
    """
    from .registry import active_versions, latest_state, load_version_artifact

    wanted = set(MODEL_SCENARIOS if scenarios is None else scenarios)
    active = active_versions()
    loaded = latest_state()
    store = get_store()
    length = app_settings.PRECOMPUTE_LENGTH
    disable = None if progress is None else not progress
    written: dict[str, int] = {}
    if "for_you" in wanted and "for_you" in active and loaded is not None:
        version = active["for_you"]
        written["for-you"] = _write_user_lists(
            store, version.version, load_version_artifact(version), loaded[1], length, disable
        )
    if "similar_item" in wanted and "similar_item" in active:
        version = active["similar_item"]
        written["similar"] = _write_item_lists(
            store, version.version, load_version_artifact(version), "similar", length, disable
        )
    if scenarios is None:
        written["also-viewed"] = refresh_also_viewed(loaded)
    if "bought_together" in wanted and "bought_together" in active:
        version = active["bought_together"]
        written["bought-together"] = _write_item_lists(
            store,
            version.version,
            load_version_artifact(version),
            "bought-together",
            length,
            disable,
        )
    return written


def refresh_also_viewed(loaded: tuple[Any, Any] | None = None) -> int:
    """``item:<id>:also-viewed`` from view co-occurrence in the newest training state (cosine,
    pairs viewed by at least :data:`ALSO_VIEWED_MIN_COUNT` visitors), labelled ``views-<run id>``.
    No model is involved, so every training run writes them. Without view events nothing is
    written. ``loaded``: a ``(run, state)`` pair already at hand."""
    from .registry import latest_state

    loaded = loaded if loaded is not None else latest_state()
    if loaded is None:
        return 0
    run, state = loaded
    return _write_also_viewed(get_store(), f"views-{run.pk}", state, app_settings.PRECOMPUTE_LENGTH)


def _write_user_lists(
    store: Any, label: str, artifact: Any, state: Any, length: int, disable: bool | None
) -> int:
    from .engine.indexmap import IndexMap

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
    users = np.flatnonzero(has_history & real_users)
    score = _user_scorer(artifact, state.user_keys)
    written = 0
    with tqdm(total=len(users), desc="For-you lists", unit=" users", disable=disable) as bar:
        for start in range(0, len(users), USER_BLOCK):
            rows = users[start : start + USER_BLOCK]
            seen = history[rows]
            block = score(rows, seen)
            block[np.repeat(np.arange(len(rows)), np.diff(seen.indptr)), seen.indices] = -np.inf
            ranked = _ranked_rows(item_keys, *_top_rows(block, length))
            lists = {f"user:{state.user_keys[row]}": ranked[i] for i, row in enumerate(rows)}
            store.put_many(lists, model_version=label)
            written += len(lists)
            bar.update(len(rows))
    return written


def _user_scorer(artifact: Any, user_keys: np.ndarray):
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


def _factor_scorer(artifact: Any, user_keys: np.ndarray):
    """ALS: the fitted user vector when the user was in training, else a fold-in."""
    from .engine.artifacts import fold_in
    from .engine.indexmap import IndexMap

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


def _write_item_lists(
    store: Any, label: str, artifact: Any, relation: str, length: int, disable: bool | None
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
    n_items = len(item_keys)
    written = 0
    with tqdm(total=n_items, desc=f"{relation} lists", unit=" items", disable=disable) as bar:
        for start in range(0, n_items, USER_BLOCK):
            items = np.arange(start, min(start + USER_BLOCK, n_items))
            ranked = _ranked_rows(item_keys, *_item_neighbours(artifact, items, length))
            lists = {
                f"item:{item_keys[item]}:{relation}": ranked[i]
                for i, item in enumerate(items)
                if ranked[i]
            }
            store.put_many(lists, model_version=label)
            written += len(lists)
            bar.update(len(items))
    return written


def _item_neighbours(artifact: Any, items: np.ndarray, length: int):
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
    return _top_rows(block, length)


def _write_also_viewed(store: Any, label: str, state: Any, length: int) -> int:
    """Cosine of view co-occurrence, from the (user, item) view pairs of the training state."""
    if len(state.view_users) == 0:
        return 0
    shape = (len(state.user_keys), len(state.item_keys))
    views = sp.csr_matrix(
        (np.ones(len(state.view_users), np.float32), (state.view_users, state.view_items)),
        shape=shape,
    )
    together = (views.T @ views).tocoo()
    counts = np.asarray(views.sum(axis=0)).ravel()
    keep = (together.row != together.col) & (together.data >= ALSO_VIEWED_MIN_COUNT)
    rows, cols = together.row[keep], together.col[keep]
    cosine = together.data[keep] / np.sqrt(counts[rows] * counts[cols])
    order = np.lexsort((-cosine, rows))
    rows, cols, cosine = rows[order], cols[order], cosine[order]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if len(rows) else []
    ends = np.r_[starts[1:], len(rows)] if len(rows) else []
    lists = {
        f"item:{state.item_keys[rows[lo]]}:also-viewed": [
            (str(state.item_keys[col]), float(score))
            for col, score in zip(
                cols[lo : min(hi, lo + length)], cosine[lo : min(hi, lo + length)], strict=True
            )
        ]
        for lo, hi in zip(starts, ends, strict=True)
    }
    store.put_many(lists, model_version=label)
    return len(lists)


def refresh_content_neighbours(item_ids: Iterable[str]) -> int:
    """``item:<id>:similar`` from catalogue content, for those of ``item_ids`` no model has a
    similar list for yet (a product saved a moment ago); returns lists written.

    Neighbours are the whole catalogue's items by cosine of
    :func:`~recommendations.engine.features.item_features` over title + description (TF-IDF) and
    category, best ``PRECOMPUTE_LENGTH`` first, with anything that shares neither a word nor the
    category left out. Price is not used, so serving can say truthfully that they are similar in
    name, description or category. Lists are labelled :data:`CONTENT_LABEL`: an item whose list
    carries another label (a trained model's) is skipped, even when a training run writes it
    meanwhile, and the next training run that has neighbours for the item replaces the content
    list. One pass over the catalogue serves all ``item_ids``, so callers batch them.
    """
    store = get_store()
    keys = {f"item:{item_id}:similar": str(item_id) for item_id in item_ids}
    current = store.get_many_labelled(list(keys))
    wanted = {
        item_id
        for key, item_id in keys.items()
        if key not in current or current[key][1] == CONTENT_LABEL
    }
    if not wanted:
        return 0
    infos = list(get_catalog().all_items())
    rows = np.array([row for row, info in enumerate(infos) if info.item_id in wanted], np.int64)
    if len(rows) == 0:
        return 0
    from .engine.features import item_features  # scikit-learn, only where lists are computed

    features = item_features(
        [info.title for info in infos],
        descriptions=[info.description for info in infos],
        categories=[info.category or None for info in infos],
    )
    item_keys = np.asarray([info.item_id for info in infos])
    length = app_settings.PRECOMPUTE_LENGTH
    lists: dict[str, RankedList] = {}
    for start in range(0, len(rows), USER_BLOCK):
        block_rows = rows[start : start + USER_BLOCK]
        block = (features[block_rows] @ features.T).toarray()
        block[block <= 0] = -np.inf
        block[np.arange(len(block_rows)), block_rows] = -np.inf
        ranked = _ranked_rows(item_keys, *_top_rows(block, length))
        for row, neighbours in zip(block_rows, ranked, strict=True):
            if neighbours:
                lists[f"item:{item_keys[row]}:similar"] = neighbours
    return store.fill_many(lists, model_version=CONTENT_LABEL)


def _table(arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    n = len(arrays["indptr"]) - 1
    return sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=(n, n))


def _top_rows(block: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top ``n`` column indices and values, best first."""
    n = min(n, block.shape[1])
    if n == 0:
        empty = np.empty((block.shape[0], 0))
        return empty.astype(np.int64), empty
    part = np.argpartition(-block, n - 1, axis=1)[:, :n]
    values = np.take_along_axis(block, part, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(values, order, axis=1)


def _ranked_rows(item_keys: np.ndarray, top: np.ndarray, values: np.ndarray) -> list[RankedList]:
    """One ranked list per row, without the unreachable (``-inf``) tail."""
    lengths = np.isfinite(values).sum(axis=1).tolist()
    keys, scores = item_keys[top].tolist(), values.tolist()
    return [list(zip(keys[i][:n], scores[i][:n], strict=True)) for i, n in enumerate(lengths)]
