"""How much would choosing the epoch on the held-out subject inflate our LOSO figure? (a diagnostic, not a result)

    python benchmarks/micro_peeking.py --data ../shared/data/megc2019 [--model micro_attn_plain] [--recipe default]
        [--seed 0] [--epochs N] [--jobs 2] [--json OUT.json] [--save-probs OUT.npz]

Trains the LOSO folds exactly like ``emoscope evaluate micro`` (same seeds: the last-epoch row reproduces it),
scores the held-out subject after every epoch, and prints UF1 / UAR for: the last epoch (our protocol), the one
epoch best on all held-out subjects pooled, and the best epoch per held-out subject (the rule of the HTNet
reference code). Only the first is a valid estimate; the others show what peeking adds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from emoscope.datasets.megc2019 import load_megc2019
from emoscope.tasks.micro.peeking import peeking_report, run_loso_epochs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="the MEGC2019 composite folder")
    p.add_argument("--model", default="micro_attn_plain")
    p.add_argument("--recipe", default="default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, help="override the recipe's epoch count (the schedule spans it)")
    p.add_argument("--limit-folds", type=int, default=0, help="smoke runs: this many folds only")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--json", help="also write the report (with UF1 after every epoch) here")
    p.add_argument("--save-probs", metavar="NPZ", help="also save the (epochs, N, K) held-out probabilities here")
    a = p.parse_args(argv)
    data = load_megc2019(a.data)
    curves = run_loso_epochs(data, a.model, a.recipe, a.seed, epochs=a.epochs, limit_folds=a.limit_folds,
                             jobs=a.jobs)  # fmt: skip
    rep = peeking_report(curves)
    print(f"{rep['model']}, recipe {rep['recipe']}, seed {rep['seed']}, {rep['epochs']} epochs, "
          f"{rep['n']} samples, {rep['wall_s']:.0f} s")  # fmt: skip
    print(f"{'epoch choice':60s} {'UF1':>6s} {'UAR':>6s}")
    rows = [("last epoch (our protocol: nothing chosen)", rep["last_epoch"], ""),
            ("best single epoch on the pooled held-out subjects (peeking)", rep["best_global_epoch"],
             f"epoch {rep['best_global_epoch']['epoch']}"),
            ("best epoch per held-out subject, HTNet rule (peeking)", rep["best_epoch_per_subject"],
             f"median epoch {rep['best_epoch_per_subject']['median_epoch']:.0f}")]  # fmt: skip
    for name, r, note in rows:
        print(f"{name:60s} {r['uf1']:6.4f} {r['uar']:6.4f}  {note}")
    if a.save_probs:
        np.savez_compressed(a.save_probs, probs=curves.probs, y_true=curves.y_true, subjects=curves.subjects)
    if a.json:
        Path(a.json).write_text(json.dumps(rep, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
