"""The person in training states and model artifacts (files in the artifact storage).

A training state holds one row per (user, item) pair, view pairs and order lines; an ALS artifact
holds one factor row per user it was fitted on. Both are rewritten without the person and stay
loadable: codes are renumbered, and the state's user map and the artifact's user keys lose the
same keys, so an incremental run still warm-starts from the active ALS model. A rewritten file
gets a new name (the old one is deleted), so a process that cached the old artifact loads the new
one when it next looks up the version. Item-level arrays (similarities, item factors) are
aggregates over everyone and stay until the next training run refits them without the person.

Which arrays name users is known by name: a plain user id such as ``"42"`` is also a valid item
key, so only ``user_keys``/``user_map`` are searched for it; ``order_keys`` for their orders.
"""

from __future__ import annotations

import io
import logging
from dataclasses import fields
from typing import Any

import numpy as np
from django.core.files.base import ContentFile
from django.db.models.fields.files import FieldFile

from recommendations import caches
from recommendations.engine.artifacts import load_artifact, save_artifact
from recommendations.models import ModelVersion, TrainingRun
from recommendations.models.registry import artifact_storage
from recommendations.training.state import TrainingState

from .subject import Subject

logger = logging.getLogger("recommendations.privacy")

#: Arrays (state fields, and artifact arrays as stored, ``a_`` prefixed) that hold user keys.
USER_KEY_ARRAYS = frozenset({"user_keys", "user_map", "a_user_keys"})
ORDER_KEY_ARRAYS = frozenset({"order_keys"})


def _read(field: FieldFile) -> bytes:
    with field.open("rb") as handle:
        return handle.read()


def _read_or_none(field: FieldFile) -> bytes | None:
    try:
        return _read(field)
    except OSError:
        logger.warning("%s is unreadable; skipped", field.name)
        return None


def _isin(values: np.ndarray, keys: set[str]) -> np.ndarray:
    if not keys or values.size == 0:
        return np.zeros(values.shape, dtype=bool)
    return np.isin(values.astype(np.str_), list(keys))


def references(arrays: dict[str, np.ndarray], subject: Subject) -> bool:
    """Whether arrays of a state or artifact file name the person."""
    visitor_keys = {f"v:{v}" for v in subject.visitor_ids} | set(subject.visitor_ids)
    for name, values in arrays.items():
        if values.dtype.kind not in "US":
            continue
        if name in USER_KEY_ARRAYS:
            wanted = subject.training_keys
        elif name in ORDER_KEY_ARRAYS:
            wanted = set(subject.order_ids) | visitor_keys
        else:
            wanted = visitor_keys
        if _isin(values, wanted).any():
            return True
    return False


def _load_npz(content: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(content), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


# --- Training states ------------------------------------------------------------------------------


def state_without(state: TrainingState, subject: Subject) -> TrainingState:
    """``state`` without the person's users (and their orders' lines), codes renumbered."""
    drop_users = _isin(state.user_keys, subject.training_keys)
    drop_orders = _isin(state.order_keys, set(subject.order_ids))
    renumber_users = np.cumsum(~drop_users) - 1
    renumber_orders = np.cumsum(~drop_orders) - 1
    pairs = ~drop_users[state.pair_users] if len(state.pair_users) else np.zeros(0, bool)
    views = ~drop_users[state.view_users] if len(state.view_users) else np.zeros(0, bool)
    lines = ~drop_orders[state.line_orders] if len(state.line_orders) else np.zeros(0, bool)
    values: dict[str, Any] = {f.name: getattr(state, f.name) for f in fields(state)}
    values.update(
        user_keys=state.user_keys[~drop_users],
        pair_users=renumber_users[state.pair_users[pairs]].astype(np.int64),
        pair_items=state.pair_items[pairs],
        pair_weights=state.pair_weights[pairs],
        pair_times=state.pair_times[pairs],
        view_users=renumber_users[state.view_users[views]].astype(np.int64),
        view_items=state.view_items[views],
        order_keys=state.order_keys[~drop_orders],
        line_orders=renumber_orders[state.line_orders[lines]].astype(np.int64),
        line_items=state.line_items[lines],
        line_times=state.line_times[lines],
        user_map=state.user_map[~_isin(state.user_map, subject.training_keys)],
    )
    return TrainingState(**values)


def _state_export(run: TrainingRun, state: TrainingState, subject: Subject) -> dict[str, Any]:
    mine = np.flatnonzero(_isin(state.user_keys, subject.training_keys))
    users: dict[str, Any] = {}
    for code in mine.tolist():
        pairs = np.flatnonzero(state.pair_users == code)
        views = np.flatnonzero(state.view_users == code)
        users[str(state.user_keys[code])] = {
            "interactions": [
                {
                    "item_id": str(state.item_keys[state.pair_items[p]]),
                    "weight": float(state.pair_weights[p]),
                    "first_at": float(state.pair_times[p]),
                }
                for p in pairs.tolist()
            ],
            "viewed": [str(state.item_keys[state.view_items[v]]) for v in views.tolist()],
        }
    orders: dict[str, list[str]] = {}
    for code in np.flatnonzero(_isin(state.order_keys, set(subject.order_ids))).tolist():
        lines = np.flatnonzero(state.line_orders == code)
        orders[str(state.order_keys[code])] = [
            str(state.item_keys[state.line_items[i]]) for i in lines.tolist()
        ]
    return {"run": run.pk, "users": users, "orders": orders}


# --- Artifacts --------------------------------------------------------------------------------


def _artifact_rows(arrays: dict[str, np.ndarray], subject: Subject) -> np.ndarray:
    keys = arrays.get("user_keys")
    return np.zeros(0, bool) if keys is None else _isin(keys, subject.training_keys)


def _artifact_export(version: ModelVersion, content: bytes, subject: Subject) -> dict[str, Any]:
    artifact = load_artifact(content)
    mine = _artifact_rows(artifact.arrays, subject)
    factors = artifact.arrays.get("user_factors")
    rows: dict[str, Any] = {}
    for row in np.flatnonzero(mine).tolist():
        key = str(artifact.arrays["user_keys"][row])
        if factors is not None and row < len(factors):
            rows[key] = factors[row].astype(float).tolist()
        else:
            rows[key] = None
    return {"version": version.version, "scenario": version.scenario, "user_factors": rows}


def _artifact_without(content: bytes, subject: Subject) -> ContentFile:
    artifact = load_artifact(content)
    arrays = artifact.arrays
    keep = ~_artifact_rows(arrays, subject)
    factors = arrays.get("user_factors")
    if factors is not None and len(factors) == len(keep):
        arrays["user_factors"] = factors[keep]
        arrays["user_keys"] = arrays["user_keys"][keep]
    else:  # rows and keys do not line up: drop both (scoring folds users in instead)
        arrays.pop("user_factors", None)
        arrays.pop("user_keys", None)
    buffer = io.BytesIO()
    save_artifact(artifact, buffer)
    return ContentFile(buffer.getvalue())


def _replace(field: FieldFile, name: str, content: ContentFile) -> None:
    old = field.name
    field.save(name, content, save=False)
    if old and old != field.name:
        field.storage.delete(old)


# --- Orphans ------------------------------------------------------------------------------------


def _stored_files(folder: str = "") -> list[str]:
    storage = artifact_storage()
    try:
        folders, files = storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return []
    found = [f"{folder}/{name}" if folder else name for name in files if name.endswith(".npz")]
    for sub in folders:
        found += _stored_files(f"{folder}/{sub}" if folder else sub)
    return found


def _referenced_names() -> set[str]:
    names = set(TrainingRun.objects.exclude(state="").values_list("state", flat=True))
    return names | set(ModelVersion.objects.exclude(artifact="").values_list("artifact", flat=True))


def _orphans_naming(subject: Subject) -> list[str]:
    storage = artifact_storage()
    found = []
    for name in sorted(set(_stored_files()) - _referenced_names()):
        try:
            with storage.open(name, "rb") as handle:
                arrays = _load_npz(handle.read())
        except Exception:  # not an npz we can read: nothing of ours
            continue
        if references(arrays, subject):
            found.append(name)
    return found


# --- Entry points -----------------------------------------------------------------------------


def export_files(subject: Subject) -> dict[str, Any]:
    states = []
    for run in TrainingRun.objects.exclude(state="").order_by("pk"):
        raw = _read_or_none(run.state)
        if raw is None:
            continue
        state = TrainingState.load(io.BytesIO(raw))
        exported = _state_export(run, state, subject)
        if exported["users"] or exported["orders"]:
            states.append(exported)
    artifacts = []
    for version in ModelVersion.objects.exclude(artifact="").order_by("pk"):
        content = _read_or_none(version.artifact)
        if content is None:
            continue
        exported = _artifact_export(version, content, subject)
        if exported["user_factors"]:
            artifacts.append(exported)
    return {"training_states": states, "model_artifacts": artifacts}


def purge_files(subject: Subject) -> dict[str, int]:
    """Rewrite every state and artifact that names the person; delete orphan files that do.
    Run while holding the training lease, so no run saves a state meanwhile."""
    counts = {"training_states": 0, "model_artifacts": 0, "orphan_files": 0}
    for run in TrainingRun.objects.exclude(state="").order_by("pk"):
        content = _read_or_none(run.state)
        if content is None or not references(_load_npz(content), subject):
            continue
        state = state_without(TrainingState.load(io.BytesIO(content)), subject)
        _replace(run.state, f"states/run-{run.pk}.npz", state.save())
        run.save(update_fields=["state"])
        counts["training_states"] += 1
    for version in ModelVersion.objects.exclude(artifact="").order_by("pk"):
        content = _read_or_none(version.artifact)
        if content is None or not references(_load_npz(content), subject):
            continue
        name = f"{version.scenario}/{version.version}.npz"
        _replace(version.artifact, name, _artifact_without(content, subject))
        version.save(update_fields=["artifact"])
        counts["model_artifacts"] += 1
    storage = artifact_storage()
    for name in _orphans_naming(subject):
        storage.delete(name)
        counts["orphan_files"] += 1
    if counts["model_artifacts"]:
        caches.invalidate(caches.Change.MODELS)
        from recommendations.registry import clear_cache

        clear_cache()
    return counts


def find_files(subject: Subject) -> list[str]:
    """Files that still name the person (described without naming them)."""
    found = []
    for run in TrainingRun.objects.exclude(state="").order_by("pk"):
        content = _read_or_none(run.state)
        if content is not None and references(_load_npz(content), subject):
            found.append(f"training state of run #{run.pk}")
    for version in ModelVersion.objects.exclude(artifact="").order_by("pk"):
        content = _read_or_none(version.artifact)
        if content is not None and references(_load_npz(content), subject):
            found.append(f"artifact of {version.version}")
    found += [f"unreferenced file {name}" for name in _orphans_naming(subject)]
    return found
