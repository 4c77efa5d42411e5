"""Sequential model (SASRec with full-softmax cross-entropy) on Online Retail: does order help?

Command:  .venv/bin/python bench/sequential.py [--seed 0] [--epochs N] [--device auto]
          [--content] [--blend] [--no-controls] [--protocol last_basket]
Data:     UCI Online Retail (../shared/data/online_retail/online_retail.csv.gz), reference protocol
          (bench/_common.load_reference): each (customer, item) pair once at its first time;
          leave-last-out by time (ties by a seeded shuffle) for customers with >= 3 items; all
          items ranked minus the training history.

Compared in the same run, on the same split: popularity; EASE at its best λ of a small grid
(picked on the held-out items themselves, which flatters EASE); the sequential model trained on
each customer's items in time order; and the same model, same seed, trained and scored on each
customer's sequence shuffled (the control: the difference is what order is worth), and shuffled
only within blocks of ``max_len`` items from the latest (the scored window keeps the latest items:
what order within it is worth, recency apart). ``--content`` adds an arm with item text and price
features as a side input. ``--blend`` (implies ``--content``) adds the blend of EASE and the
sequential model with content, its weight chosen on a validation split carved from the training
part (``selection.select_blend``; the held-out items are never used for the choice), EASE's λ chosen
the same way. Goals: a full fit on the CPU in at most 120 s; the blend ≥ +3 % over EASE.
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial

from _common import CITATION, RETAIL_PATH, load_reference, print_header, print_table

from recommendations.engine.evaluation import evaluate_model
from recommendations.engine.features import item_features
from recommendations.engine.models import EASE, Blend, Popularity, SASRec
from recommendations.engine.selection import Candidate, select_blend, select_for_you
from recommendations.engine.splits import split_by

EASE_GRID = (500.0, 250.0, 150.0, 50.0, 25.0)
GOAL_FIT_S = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="default: the model's")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--content", action="store_true", help="also fit with item features")
    parser.add_argument("--blend", action="store_true", help="also the EASE + sequential blend")
    parser.add_argument(
        "--protocol",
        choices=["leave_last_out", "last_basket"],
        default="leave_last_out",
        help="the reference split, or each customer's whole latest basket held out",
    )
    parser.add_argument(
        "--no-controls", action="store_true", help="skip the two shuffled-order controls"
    )
    args = parser.parse_args()
    args.content = args.content or args.blend

    reference = load_reference(RETAIL_PATH, seed=args.seed)
    split = reference.split
    if args.protocol != "leave_last_out":
        interactions = reference.interactions
        split = split_by(args.protocol, interactions.matrix, interactions.times, seed=args.seed)
    n_users, n_items = reference.interactions.shape
    print_header(
        "Sequential model vs EASE and a shuffled-order control, Online Retail, "
        f"protocol {args.protocol}",
        f"{CITATION} {n_users} customers x {n_items} items, "
        f"{reference.interactions.matrix.nnz} pairs; {len(split.users)} held-out customers",
    )

    rows: list[list[object]] = []
    results: dict[str, dict[str, float]] = {}

    def record(label: str, model, fit_s: float, extra: str = "") -> None:
        metrics = evaluate_model(model, split)
        results[label] = {**metrics, "fit_s": fit_s}
        rows.append(
            [label, metrics["hr@10"], metrics["recall@20"], metrics["ndcg@10"], fit_s, extra]
        )

    started = time.perf_counter()
    popularity = Popularity(device=args.device).fit(split.train)
    record("popularity", popularity, time.perf_counter() - started)

    best_ease: tuple[float, float, EASE | None, float] = (-1.0, 0.0, None, 0.0)
    for lam in EASE_GRID:
        started = time.perf_counter()
        ease = EASE(regularization=lam, device=args.device).fit(split.train)
        fit_s = time.perf_counter() - started
        ndcg = evaluate_model(ease, split)["ndcg@10"]
        if ndcg > best_ease[0]:
            best_ease = (ndcg, lam, ease, fit_s)
    _, lam, ease, fit_s = best_ease
    assert ease is not None
    record(f"EASE (best λ {lam:g} on test)", ease, fit_s)
    ease_label = rows[-1][0]

    settings = {"seed": args.seed, "device": args.device}
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    arms: list[tuple[str, dict, bool]] = [("sasrec (time order)", {}, False)]
    if not args.no_controls:
        arms += [
            ("sasrec (shuffled order)", {"shuffle_order": True}, False),
            ("sasrec (shuffled within windows)", {"shuffle_order": "window"}, False),
        ]
    if args.content:
        arms.append(("sasrec + content (time order)", {}, True))
    features = (
        item_features(reference.retail.titles, prices=reference.retail.prices)
        if args.content
        else None
    )
    epoch_s: dict[str, float] = {}
    fitted: dict[str, SASRec] = {}
    for label, extra, with_content in arms:
        model = SASRec(**settings, **extra)
        fitted[label] = model
        started = time.perf_counter()
        model.fit(split.train, split.train_times, features if with_content else None)
        fit_s = time.perf_counter() - started
        epoch_s[label] = sum(model.epoch_s) / len(model.epoch_s)
        record(label, model, fit_s, f"{len(model.epoch_s)} epochs, {epoch_s[label]:.1f} s each")
    blend_weight = None
    if args.blend:
        started = time.perf_counter()
        chosen = select_for_you(
            split.train,
            split.train_times,
            candidates=[
                Candidate("ease", partial(EASE, regularization=lam, device=args.device))
                for lam in EASE_GRID
            ],
            protocol=args.protocol,
            seed=args.seed,
            refit=False,
        )
        val_lam = float(chosen.best.params["regularization"])
        blended = select_blend(
            split.train,
            split.train_times,
            Candidate("ease", partial(EASE, regularization=val_lam, device=args.device)),
            Candidate("sasrec", partial(SASRec, **settings)),
            features=features,
            protocol=args.protocol,
            seed=args.seed,
            refit=False,
        )
        blend_weight = blended.weight
        ease_full = EASE(regularization=val_lam, device=args.device).fit(split.train)
        final = Blend(
            [ease_full, fitted["sasrec + content (time order)"]],
            [1.0 - blend_weight, blend_weight],
        ).with_fitted(split.train)
        record(
            "blend: EASE + sasrec + content",
            final,
            time.perf_counter() - started,
            f"EASE λ {val_lam:g}, sequential weight {blend_weight:g} (both on validation)",
        )
    print_table(["model", "HR@10", "Recall@20", "NDCG@10", "fit s", "notes"], rows)

    ordered = results["sasrec (time order)"]
    summary = {
        "sasrec_ndcg10": round(ordered["ndcg@10"], 4),
        "sasrec_recall20": round(ordered["recall@20"], 4),
        "sasrec_hr10": round(ordered["hr@10"], 4),
        "ease_ndcg10": round(results[ease_label]["ndcg@10"], 4),
        "ease_recall20": round(results[ease_label]["recall@20"], 4),
        "ease_lambda": lam,
        "popularity_ndcg10": round(results["popularity"]["ndcg@10"], 4),
        "fit_s": round(ordered["fit_s"], 1),
        "epoch_s": round(epoch_s["sasrec (time order)"], 2),
        "fit_goal_met": ordered["fit_s"] <= GOAL_FIT_S,
    }
    if not args.no_controls:
        shuffled = results["sasrec (shuffled order)"]
        windowed = results["sasrec (shuffled within windows)"]
        gain = ordered["ndcg@10"] - shuffled["ndcg@10"]
        within = ordered["ndcg@10"] - windowed["ndcg@10"]
        print(
            f"order gain (NDCG@10, time order minus shuffled): {gain:+.4f} "
            f"({gain / shuffled['ndcg@10']:+.1%}), of which order within the latest window "
            f"{within:+.4f}; sasrec vs EASE: "
            f"{ordered['ndcg@10'] - results[ease_label]['ndcg@10']:+.4f}; full fit "
            f"{ordered['fit_s']:.1f} s (goal <= {GOAL_FIT_S:.0f} s)\n"
        )
        summary.update(
            shuffled_ndcg10=round(shuffled["ndcg@10"], 4),
            shuffled_recall20=round(shuffled["recall@20"], 4),
            order_gain=round(gain, 4),
            window_shuffled_ndcg10=round(windowed["ndcg@10"], 4),
            within_window_order_gain=round(within, 4),
        )
    if args.content:
        summary["content_ndcg10"] = round(results["sasrec + content (time order)"]["ndcg@10"], 4)
    if args.blend:
        blend = results["blend: EASE + sasrec + content"]
        ease = results[ease_label]
        summary["blend_ndcg10"] = round(blend["ndcg@10"], 4)
        summary["blend_recall20"] = round(blend["recall@20"], 4)
        summary["blend_weight"] = blend_weight
        summary["blend_gain_ndcg10"] = round(blend["ndcg@10"] / ease["ndcg@10"] - 1, 4)
        summary["blend_gain_recall20"] = round(blend["recall@20"] / ease["recall@20"] - 1, 4)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
