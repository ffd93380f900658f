"""The command-line parts of issue P6, registered by :mod:`emoscope.cli`:

``emoscope calibrate compound``, ``emoscope evaluate compound``, ``emoscope train va``, ``emoscope export va`` and
``emoscope evaluate va``.
"""

from __future__ import annotations

import argparse
import json


def add_calibrate(sub: argparse._SubParsersAction) -> None:
    """``emoscope calibrate compound``."""
    p = sub.add_parser("calibrate", help="fit post-hoc rules of an exported model on validation data")
    tsub = p.add_subparsers(dest="task", required=True)
    c = tsub.add_parser(
        "compound",
        help="fit the compound-expression rule on FER+ FER2013Valid; store it in the model's .json",
        description="Fit the distribution temperature and the second-emotion threshold of the compound rule on "
        "FER+ FER2013Valid (never the test split) and write them into the model metadata (key 'compound'), "
        "atomically. Re-run after every re-export of the model.",
    )
    c.add_argument("--ferplus-data", required=True, help="FER+ root folder (FER2013Valid/label.csv, images)")
    c.add_argument("--model", help="an exported expression .onnx (default: the shipped one)")
    c.add_argument("--threads", type=int, help="ONNX Runtime threads")
    c.add_argument(
        "--json", action="store_true", help="print the stored entry as one JSON object on the last line"
    )


def run_calibrate(a: argparse.Namespace) -> int:
    from emoscope.tasks.affect.compound import calibrate_compound
    from emoscope.tasks.expression.predictor import DEFAULT_MODEL

    entry = calibrate_compound(a.model, a.ferplus_data, threads=a.threads)
    meta = (a.model or str(DEFAULT_MODEL)).removesuffix(".onnx") + ".json"
    print(f"compound rule fitted on {entry['fitted_on']}: distribution temperature "
          f"{entry['distribution_temperature']}, min_second {entry['min_second']}; validation: "
          + ", ".join(f"{k}={v}" for k, v in entry["val"].items()))  # fmt: skip
    print(f"written to {meta} (key 'compound')")
    if a.json:
        print(json.dumps(entry))
    return 0


def add_evaluate_affect(tsub: argparse._SubParsersAction) -> None:
    """``emoscope evaluate compound`` and ``emoscope evaluate va``."""
    c = tsub.add_parser(
        "compound",
        help="compound expressions on FER+ annotator splits: pair accuracy, detection F1, distribution distances",
        description="Ground truth: an image is a compound example when its two top-voted emotions each have >= 3 "
        "of 10 votes and form one of the 11 Du et al. / RAF-DB pairs (second-place ties left out); otherwise its "
        "label is the majority emotion.",
    )
    c.add_argument("--dataset", choices=["ferplus"], required=True)
    c.add_argument("--data", required=True, help="FER+ root folder")
    c.add_argument("--split", default="test", help="train/val/test (FER2013Train/Valid/Test)")
    c.add_argument(
        "--model", help="an exported expression .onnx with a fitted compound rule (default: the shipped one)"
    )
    c.add_argument("--threads", type=int, help="ONNX Runtime threads")
    c.add_argument(
        "--json", action="store_true", help="print the figures as one JSON object on the last line"
    )
    v = tsub.add_parser("va", help="valence / arousal on AffectNet-format data: CCC and RMSE")
    v.add_argument("--csv", required=True, help="AffectNet-format CSV (e.g. validation.csv)")
    v.add_argument("--images", help="image root of the CSV's paths (default: the CSV's folder)")
    src = v.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a valence/arousal .onnx written by 'emoscope export va'")
    src.add_argument("--derived", action="store_true",
                     help="score the DERIVED reading (circumplex mapping of an expression model's distribution)")  # fmt: skip
    v.add_argument(
        "--expression-model", help="with --derived: the expression .onnx (default: the shipped one)"
    )
    from emoscope.argtypes import int_range

    v.add_argument("--limit", type=int_range(0), default=0, help="score a seeded random subset of N rows")
    v.add_argument("--threads", type=int, help="ONNX Runtime threads")
    v.add_argument(
        "--json", action="store_true", help="print the figures as one JSON object on the last line"
    )


def run_evaluate_compound(a: argparse.Namespace) -> int:
    from emoscope.tasks.affect.compound import evaluate_compound, format_compound_report

    rep = evaluate_compound(a.dataset, a.data, a.split, a.model, a.threads)
    print(format_compound_report(rep, f"{rep['split_name']}: compound expressions (model {rep['model']})"))
    if a.json:
        print(json.dumps(rep))
    return 0


def run_evaluate_va(a: argparse.Namespace) -> int:
    from emoscope.tasks.affect.va import evaluate_va, format_va_report

    rep = evaluate_va(a.csv, a.images, a.model, derived=a.derived, expression_model=a.expression_model,
                      threads=a.threads, limit=a.limit)  # fmt: skip
    print(format_va_report(rep, f"{a.csv}: valence/arousal ({rep['va_source']}, model {rep['model']})"))
    if a.json:
        print(json.dumps(rep))
    return 0


def add_train_va(tsub: argparse._SubParsersAction) -> None:
    """``emoscope train va``."""
    from emoscope.argtypes import device, float_range, int_list, int_range

    v = tsub.add_parser("va", help="train a valence/arousal regression network on AffectNet-format data")
    v.add_argument("--train-csv", required=True, help="AffectNet-format training CSV (training.csv)")
    v.add_argument("--val-csv", required=True, help="AffectNet-format validation CSV (model selection)")
    v.add_argument("--images", help="image root of the CSVs' paths (default: each CSV's folder)")
    v.add_argument("--val-images", help="image root of the validation CSV if different")
    v.add_argument("--out", required=True, help="run folder: config.json, best.pt, last.pt, log.jsonl")
    v.add_argument(
        "--model", default="expr_resnet_cbam", help="registered expression trunk (see 'emoscope models')"
    )
    v.add_argument("--init", help="start the trunk from an expression checkpoint (best.pt)")
    v.add_argument("--widths", type=int_list(1, example="8,16,32,64"),
                   help="override the trunk widths, e.g. 8,16,32,64 (small smoke-test models)")  # fmt: skip
    v.add_argument("--epochs", type=int_range(1), default=20)
    v.add_argument("--batch-size", type=int_range(1), default=128)
    v.add_argument("--lr", type=float_range(0, low_open=True), default=2e-3,
                   help="peak learning rate (AdamW, one-cycle)")  # fmt: skip
    v.add_argument("--weight-decay", type=float_range(0), default=1e-4)
    v.add_argument("--no-augment", action="store_true", help="no batch augmentation")
    v.add_argument("--device", type=device, default="auto", help="auto, cpu, cuda, ...")
    v.add_argument("--threads", type=int_range(0), default=0, help="CPU threads for PyTorch (0 = default)")
    v.add_argument("--seed", type=int_range(0, 2**32 - 1), default=0)
    v.add_argument("--limit", type=int_range(0), default=0, help="train on a random subset of N rows (smoke runs)")
    v.add_argument("--overwrite", action="store_true",
                   help="replace the run already in OUT (its checkpoints and log are deleted when training starts)")  # fmt: skip


def run_train_va(a: argparse.Namespace) -> int:
    from emoscope.errors import EmoscopeError
    from emoscope.outputs.files import check_output_dir
    from emoscope.tasks.affect.va_train import VATrainConfig, train_va
    from emoscope.tasks.expression.train import check_expression_model

    trunk = check_expression_model(a.model)  # every option is checked before any data is read
    widths = a.widths or None
    if widths is not None and len(widths) != len(trunk.widths):
        raise EmoscopeError(
            f"--widths: {a.model} has {len(trunk.widths)} stages, got {len(widths)} width(s) "
            f"(e.g. {','.join(str(max(1, w // 4)) for w in trunk.widths)})"
        )
    check_output_dir(a.out, "--out")
    cfg = VATrainConfig(out=a.out, train_csv=a.train_csv, val_csv=a.val_csv, images=a.images,
                        val_images=a.val_images, model=a.model, widths=widths, init=a.init, epochs=a.epochs,
                        batch_size=a.batch_size, lr=a.lr, weight_decay=a.weight_decay, augment=not a.no_augment,
                        device=a.device, threads=a.threads, seed=a.seed, limit=a.limit)  # fmt: skip
    best = train_va(cfg, overwrite=a.overwrite)
    print(
        f"best epoch {best.get('epoch')}: val mean CCC={best['val_mean_ccc']:.4f}; weights in {a.out}/best.pt"
    )
    return 0


def add_export_va(tsub: argparse._SubParsersAction) -> None:
    """``emoscope export va``."""
    v = tsub.add_parser("va", help="export a valence/arousal checkpoint to ONNX (+ .json beside it)")
    v.add_argument("checkpoint", help="best.pt written by 'emoscope train va'")
    v.add_argument("--out", required=True, help="output .onnx path")


def run_export_va(a: argparse.Namespace) -> int:
    from emoscope.cli import _opt_check_export_out
    from emoscope.tasks.affect.va_train import export_va

    _opt_check_export_out(a.out, [a.checkpoint])  # before anything is read or written
    meta = export_va(a.checkpoint, a.out)
    print(f"wrote {a.out} ({meta['onnx_bytes'] / 1e6:.2f} MB) and its .json (epoch {meta['trained_epoch']})")
    return 0
