"""Fine-tuning the sequential model after new events vs fitting it again, Online Retail.

Command:  .venv/bin/python bench/fine_tune.py [--seed 0] [--device auto] [--new 0.01]
Data:     UCI Online Retail (../shared/data/online_retail/online_retail.csv.gz), reference pairs
          (bench/_common.load_reference: each (customer, item) pair once at its first time), cut
          by time into three parts: the checkpoint's history (all but the newest 2 % of pairs),
          the new events (the next ``--new``, 1 %: what a store gets between two runs) and a
          forward test (the newest 1 %, scored for customers with earlier pairs).

Arms, in one run, same seed, all with the item-text side input, all scored on the same forward
test from each customer's history up to the test: the checkpoint as it was (no training on the
new events; their items still join each customer's history, as serving folds them in), the
checkpoint fine-tuned on the new events (what an incremental run does: ``fine_tune_epochs`` over
the customers with new pairs plus as many others replayed), and a fit from scratch on
everything before the test (the baseline: what a full run does). EASE (λ 50) is shown for scale.
Goal: the fine-tune in at most 15 s on this machine's CPU, with NDCG@10 within 2 % of the fit
from scratch.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _common import CITATION, RETAIL_PATH, load_reference, print_header, print_table

from recommendations.engine.evaluation import evaluate_model
from recommendations.engine.features import item_features
from recommendations.engine.models import EASE, SASRec
from recommendations.engine.splits import time_split

GOAL_FINE_TUNE_S = 15.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--new", type=float, default=0.01, help="share of pairs that are new")
    args = parser.parse_args()

    reference = load_reference(RETAIL_PATH, seed=args.seed)
    matrix, times = reference.interactions.matrix, reference.interactions.times
    stamps = np.sort(times.data)
    test_cut = float(stamps[int(len(stamps) * 0.99)])
    new_cut = float(stamps[int(len(stamps) * (0.99 - args.new))])
    forward = time_split(matrix, times, cutoff=test_cut)
    history = time_split(forward.train, forward.train_times, cutoff=new_cut)
    old_pairs, new_pairs = history.train.nnz, history.test.nnz
    changed = int((np.diff(history.test.indptr) > 0).sum())
    features = item_features(reference.retail.titles, prices=reference.retail.prices)
    n_users, n_items = matrix.shape
    print_header(
        "Sequential model: fine-tune after new events vs a fit from scratch, Online Retail",
        f"{CITATION} {n_users} customers x {n_items} items; checkpoint on {old_pairs} pairs, "
        f"{forward.train.nnz - old_pairs} new pairs ({new_pairs} from {changed} customers with "
        f"earlier pairs), forward test {forward.test.nnz} pairs of {len(forward.users)} customers",
    )
    settings = {"seed": args.seed, "device": args.device}

    started = time.perf_counter()
    checkpoint = SASRec(**settings).fit(history.train, history.train_times, features)
    checkpoint_s = time.perf_counter() - started
    saved = checkpoint.to_artifact()
    print(f"  checkpoint fitted in {checkpoint_s:.1f} s", flush=True)

    rows: list[list[object]] = []
    results: dict[str, dict[str, float]] = {}

    def record(label: str, model, fit_s: float, note: str) -> None:
        metrics = evaluate_model(model, forward)
        results[label] = {**metrics, "fit_s": fit_s}
        rows.append([label, fit_s, metrics["ndcg@10"], metrics["recall@20"], note])
        print(f"  {label}: {fit_s:.1f} s, NDCG@10 {metrics['ndcg@10']:.4f} ({note})", flush=True)

    as_it_was = SASRec(**settings).fit(
        forward.train, forward.train_times, features, warm_start=saved, epochs=0
    )
    record("checkpoint, not trained on the new events", as_it_was, 0.0, "histories updated")

    started = time.perf_counter()
    tuned = SASRec(**settings).fit(forward.train, forward.train_times, features, warm_start=saved)
    fine_tune_s = time.perf_counter() - started
    trained_rows = len(tuned._rows_to_train(forward.train_times, checkpoint))
    record(
        "checkpoint fine-tuned on the new events",
        tuned,
        fine_tune_s,
        f"{len(tuned.epoch_s)} epochs over {trained_rows} customers",
    )

    started = time.perf_counter()
    scratch = SASRec(**settings).fit(forward.train, forward.train_times, features)
    scratch_s = time.perf_counter() - started
    record("fit from scratch (baseline)", scratch, scratch_s, f"{len(scratch.epoch_s)} epochs")

    started = time.perf_counter()
    ease = EASE(regularization=50.0, device=args.device).fit(forward.train)
    record("EASE λ 50 (for scale)", ease, time.perf_counter() - started, "")

    print_table(["arm", "fit s", "NDCG@10", "Recall@20", "note"], rows)
    tuned_ndcg = results["checkpoint fine-tuned on the new events"]["ndcg@10"]
    scratch_ndcg = results["fit from scratch (baseline)"]["ndcg@10"]
    ratio = fine_tune_s / scratch_s
    quality = tuned_ndcg / scratch_ndcg if scratch_ndcg else float("nan")
    print(
        f"checkpoint fit {checkpoint_s:.1f} s; fine-tune {fine_tune_s:.1f} s = {ratio:.3f} x the "
        f"fit from scratch (goal <= {GOAL_FINE_TUNE_S:g} s: "
        f"{'met' if fine_tune_s <= GOAL_FINE_TUNE_S else 'not met'}); NDCG@10 {quality:.3f} x "
        f"(goal >= 0.98: {'met' if quality >= 0.98 else 'not met'})"
    )
    print(
        json.dumps(
            {
                "fine_tune_s": round(fine_tune_s, 2),
                "scratch_s": round(scratch_s, 2),
                "ratio": round(ratio, 4),
                "ndcg_fine_tuned": round(tuned_ndcg, 4),
                "ndcg_scratch": round(scratch_ndcg, 4),
                "ndcg_checkpoint": round(
                    results["checkpoint, not trained on the new events"]["ndcg@10"], 4
                ),
                "new_pairs": forward.train.nnz - old_pairs,
                "trained_customers": trained_rows,
            }
        )
    )


if __name__ == "__main__":
    main()
