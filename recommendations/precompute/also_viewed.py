"""Also-viewed lists: view co-occurrence in the newest training state, no model involved."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recommendations.conf import app_settings
from recommendations.stores import get_store

#: Visitors who must have viewed both items for a pair to count.
ALSO_VIEWED_MIN_COUNT = 2


def refresh_also_viewed(loaded: tuple[Any, Any] | None = None) -> int:
    """``item:<id>:also-viewed`` from view co-occurrence in the newest training state (cosine,
    pairs viewed by at least :data:`ALSO_VIEWED_MIN_COUNT` visitors), labelled ``views-<run id>``.
    No model is involved, so every training run writes them. Without view events nothing is
    written. ``loaded``: a ``(run, state)`` pair already at hand."""
    from recommendations.training.state import latest_state

    loaded = loaded if loaded is not None else latest_state()
    if loaded is None:
        return 0
    run, state = loaded
    return _write_also_viewed(get_store(), f"views-{run.pk}", state, app_settings.PRECOMPUTE_LENGTH)


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
    starts: np.ndarray | list[int] = (
        np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if len(rows) else []
    )
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
