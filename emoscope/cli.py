"""The ``emoscope`` command line."""

from __future__ import annotations

import argparse
import os
import sys

from emoscope.argtypes import device as _opt_device
from emoscope.argtypes import float_range, int_range
from emoscope.errors import EmoscopeError


def _opt_check_export_out(out: str, inputs: list[str]) -> None:
    """Before an export: ``out`` ends in ``.onnx``, it and its ``.json`` are writable files, and neither is one of
    the ``inputs`` (checkpoints). Raises :class:`OutputError` naming the target."""
    from pathlib import Path

    from emoscope.errors import OutputError
    from emoscope.outputs.files import check_model_pair_out, check_output_path

    p = Path(out)
    if p.suffix.lower() != ".onnx":
        raise OutputError(out, "--out must end in .onnx (its metadata is written beside it as .json)")
    check_model_pair_out(p, inputs, "--out")
    check_output_path(p.with_suffix(".json"), "the metadata beside --out")


def _add_train(sub: argparse._SubParsersAction) -> None:
    from emoscope.tasks.affect.cli import add_train_va

    p = sub.add_parser("train", help="train a model (needs the 'train' extra: PyTorch)")
    tsub = p.add_subparsers(dest="task", required=True)
    add_train_va(tsub)
    e = tsub.add_parser("expression", help="train an expression network on FER2013 and/or FER+")
    e.add_argument("--data", required=True, help="FER2013 folder or fer2013.csv (labels fer2013/both), FER+ root (labels ferplus)")
    e.add_argument("--labels", choices=["fer2013", "ferplus", "both"], default="both")
    e.add_argument("--ferplus-data", help="FER+ root folder (with --labels both)")
    e.add_argument("--out", required=True, help="run folder: config.json, last.pt, best.pt, log.jsonl, log.csv")
    e.add_argument("--model", default="expr_resnet_cbam", help="registered model name (see 'emoscope models')")
    e.add_argument("--epochs", type=int_range(1), default=30)
    e.add_argument("--batch-size", type=int_range(1), default=128)
    e.add_argument("--lr", type=float_range(0, low_open=True), default=0.1,
                   help="peak learning rate of the one-cycle schedule (SGD)")  # fmt: skip
    e.add_argument("--weight-decay", type=float_range(0), default=5e-4)
    e.add_argument("--label-smoothing", type=float_range(0, 1), default=0.1)
    e.add_argument("--balance", choices=["none", "sqrt", "inverse"], default="sqrt",
                   help="class weights of the hard-label loss against class imbalance")  # fmt: skip
    e.add_argument("--ema", type=float_range(0, 1), default=0.999, help="EMA decay of the weights (0 = off)")
    e.add_argument("--amp", choices=["auto", "bf16", "none"], default="auto", help="bfloat16 autocast")
    e.add_argument("--device", type=_opt_device, default="auto", help="auto, cpu, cuda, cuda:1, ...")
    e.add_argument("--threads", type=int_range(0), default=0, help="CPU threads for PyTorch (0 = default)")
    e.add_argument("--seed", type=int_range(0, 2**32 - 1), default=0)
    e.add_argument("--limit", type=int_range(0), default=0, help="train on a random subset of N images (smoke runs)")
    e.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    e.add_argument("--overwrite", action="store_true",
                   help="replace the run already in OUT (its checkpoints and logs are deleted when training starts)")  # fmt: skip
    e.add_argument("--init", help="start from the weights of a best.pt (same --model) with a new schedule")
    e.add_argument("--warmup", type=float_range(0, 1), default=0.15,
                   help="fraction of the schedule raising the learning rate")  # fmt: skip
    from emoscope.tasks.micro.cli import add_train_micro

    add_train_micro(tsub)


def _run_train(a: argparse.Namespace) -> int:
    if a.task == "micro":
        from emoscope.tasks.micro.cli import run_train_micro

        return run_train_micro(a)
    if a.task == "va":
        from emoscope.tasks.affect.cli import run_train_va

        return run_train_va(a)
    from emoscope.outputs.files import check_output_dir
    from emoscope.tasks.expression.train import TrainConfig, check_expression_model, train

    check_expression_model(a.model)  # every option is checked before any data is read
    check_output_dir(a.out, "--out")
    cfg = TrainConfig(
        out=a.out, model=a.model, labels=a.labels,
        fer2013=a.data if a.labels != "ferplus" else None,
        ferplus=a.ferplus_data if a.labels == "both" else (a.data if a.labels == "ferplus" else None),
        epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, weight_decay=a.weight_decay,
        label_smoothing=a.label_smoothing, balance=a.balance, ema=a.ema, amp=a.amp, device=a.device,
        threads=a.threads, seed=a.seed, limit=a.limit, init=a.init, warmup=a.warmup,
    )  # fmt: skip
    best = train(cfg, resume=a.resume, overwrite=a.overwrite)
    print(f"best epoch {best.get('epoch')}: val_score={best.get('val_score', float('nan')):.4f}; weights in {a.out}/best.pt")
    return 0


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score a model on a labelled split")
    tsub = p.add_subparsers(dest="task", required=True)
    e = tsub.add_parser("expression", help="accuracy, macro-F1, per-class recall, confusion matrix, ECE")
    e.add_argument("--dataset", choices=["fer2013", "ferplus", "folder"], required=True)
    e.add_argument("--data", required=True, help="dataset folder (or fer2013.csv / fer2013new.csv)")
    e.add_argument("--split", default="test", help="Training/PublicTest/PrivateTest (or train/val/test)")
    e.add_argument("--model", help="an exported .onnx model (default: the shipped one)")
    e.add_argument("--head", help="which output head to score (default: the dataset's own)")
    e.add_argument("--protocol", choices=["official", "plurality"], default="official",
                   help="FER+ hard labels: official = the FER+ authors' majority protocol (single votes dropped, more "
                        "than half of the rest; published figures use it), plurality = top vote, ambiguous included")
    e.add_argument("--confusion-png", help="also save the confusion matrix as a PNG here")
    e.add_argument("--threads", type=int, help="ONNX Runtime threads")
    e.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
    from emoscope.tasks.micro.cli import add_evaluate_micro

    add_evaluate_micro(tsub)
    from emoscope.tasks.affect.cli import add_evaluate_affect

    add_evaluate_affect(tsub)


def _run_evaluate(a: argparse.Namespace) -> int:
    import json

    if a.task == "micro":
        from emoscope.tasks.micro.cli import run_evaluate_micro

        return run_evaluate_micro(a)
    if a.task in ("compound", "va"):
        from emoscope.tasks.affect.cli import run_evaluate_compound, run_evaluate_va

        return run_evaluate_compound(a) if a.task == "compound" else run_evaluate_va(a)

    from emoscope.evaluation.metrics import format_report
    from emoscope.tasks.expression.evaluate import evaluate_expression

    if a.confusion_png:  # a bad output path is reported now, not after the whole evaluation
        from emoscope.outputs.files import check_output_path

        check_output_path(a.confusion_png, "--confusion-png")
    rep, classes = evaluate_expression(a.dataset, a.data, a.split, a.model, a.head, a.threads, a.protocol)
    proto = f", {rep['protocol']} protocol" if "protocol" in rep else ""
    print(format_report(rep, classes, f"{a.dataset} {a.split} ({rep['head']} head{proto}, model {rep['model']})"))
    for name, r in rep.get("protocols", {}).items():
        print(f"FER+ {name} protocol: n={r['n']} accuracy={r['accuracy']:.4f} macro-F1={r['macro_f1']:.4f}")
    if a.confusion_png:
        from emoscope.outputs.plots import plot_confusion

        what = f" ({rep['protocol']} protocol)" if "protocol" in rep else ""
        title = f"{a.dataset} {a.split}{what}: acc {rep['accuracy']:.3f}"
        plot_confusion(rep["confusion"], classes, a.confusion_png, title)
        print(f"confusion matrix written to {a.confusion_png}")
    if a.json:
        print(json.dumps(rep))
    return 0


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a trained checkpoint to ONNX and calibrate it (needs PyTorch)")
    tsub = p.add_subparsers(dest="task", required=True)
    e = tsub.add_parser("expression", help="export expression checkpoint(s) to ONNX, calibrate on validation, write the .json")
    e.add_argument("checkpoint", nargs="+",
                   help="best.pt written by 'emoscope train expression'; several: one ensemble graph (mean logits)")
    e.add_argument("--out", required=True, help="output .onnx path (metadata goes beside it as .json)")
    e.add_argument("--fer2013-data", help="FER2013 folder or csv: calibrate the fer2013 head on PublicTest")
    e.add_argument("--ferplus-data", help="FER+ root: calibrate the ferplus head on FER2013Valid")
    e.add_argument("--int8", action="store_true", help="static int8 quantisation (ranges from FER2013 training images)")
    e.add_argument("--tta", action="store_true", help="average each face with its mirror image at inference")
    from emoscope.tasks.affect.cli import add_export_va

    add_export_va(tsub)


def _run_export(a: argparse.Namespace) -> int:
    import json

    if a.task == "va":
        from emoscope.tasks.affect.cli import run_export_va

        return run_export_va(a)
    from emoscope.tasks.expression.export import export_and_calibrate

    _opt_check_export_out(a.out, a.checkpoint)  # before anything is read or written
    meta = export_and_calibrate(a.checkpoint, a.out, a.fer2013_data, a.ferplus_data, int8=a.int8, tta=a.tta)
    print(json.dumps({h: {k: v for k, v in e.items() if k != "classes"} for h, e in meta["heads"].items()}, indent=2))
    print(f"wrote {a.out} ({meta['onnx_bytes'] / 1e6:.2f} MB) and its .json")
    return 0


def _add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="expressions of the faces in images")
    p.add_argument("inputs", nargs="+", help="image files or folders")
    p.add_argument("--aligned", action="store_true", help="each image is one aligned face crop (no detection)")
    p.add_argument("--annotate", metavar="OUT_DIR", help="write copies with boxes, labels and probability bars here")
    p.add_argument("--model", help="an exported .onnx model (default: the shipped one)")
    p.add_argument("--head", help="label set: ferplus (8 emotions, default) or fer2013 (7)")
    p.add_argument("--affect", action=argparse.BooleanOptionalAction, default=None,
                   help="compound label, intensity, valence/arousal per face (default: when the model has a "
                   "fitted compound rule, as the shipped one has)")  # fmt: skip
    p.add_argument("--va-model", help="valence/arousal .onnx ('emoscope export va'); default: DERIVED from the emotions")
    p.add_argument("--json", action="store_true", help="one JSON object per input per line")
    from emoscope.tasks.video.cli import threads_arg

    p.add_argument("--threads", type=threads_arg, help="ONNX Runtime threads, 0..256 (0 = all cores)")


def _iter_inputs(inputs: list[str]):
    from pathlib import Path

    from emoscope.datasets.folder import IMAGE_SUFFIXES

    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                yield str(p), "folder contains no image files"
            for f in files:
                yield str(f), None
        else:
            yield str(p), None


def _run_predict(a: argparse.Namespace) -> int:
    from pathlib import Path

    from emoscope.api import Analyzer
    from emoscope.errors import InputError
    from emoscope.input.images import read_image
    from emoscope.outputs.results import ImageResult
    from emoscope.tasks.expression.predictor import ExpressionRecognizer

    if a.annotate:  # checked once here, not failed once per input
        from emoscope.outputs.files import check_output_dir

        check_output_dir(a.annotate, "--annotate")
    analyzer = Analyzer(ExpressionRecognizer(a.model, head=a.head, threads=a.threads), affect=a.affect,
                        va_model=a.va_model)  # fmt: skip
    n_ok = n_all = 0
    for path, problem in _iter_inputs(a.inputs):
        n_all += 1
        res = ImageResult(file=path, error=problem)
        if problem is None:
            try:
                img = read_image(path)
                res = analyzer.analyze_aligned(img, file=path) if a.aligned else analyzer.analyze(img, file=path)
                if a.annotate:
                    from emoscope.outputs.annotate import draw_results, save_image_atomic

                    save_image_atomic(draw_results(img, res), Path(a.annotate) / _annotated_name(path, n_all))
            except InputError as e:
                res = ImageResult(file=path, error=e.problem)
            except (OSError, ValueError) as e:  # one bad input never stops the run
                res = ImageResult(file=path, error=f"{type(e).__name__}: {e}")
        n_ok += res.ok
        if a.json:
            print(res.to_json(), flush=True)
        elif res.ok:
            if not res.faces:
                print(f"{path}: no face found")
            for i, f in enumerate(res.faces):
                top = sorted(f.probabilities.items(), key=lambda kv: -kv[1])[:3]
                affect = "" if f.valence is None else (
                    (f"  [{f.compound}] " if f.compound else "  ")
                    + f"intensity {f.intensity:.2f} valence {f.valence:+.2f} arousal {f.arousal:+.2f} ({f.va_source})"
                )  # fmt: skip
                print(f"{path} face {i} {list(f.box)}: {f.label}  (" + ", ".join(f"{k} {v:.2f}" for k, v in top) + ")"
                      + affect)  # fmt: skip
        else:
            print(f"{path}: error: {res.error}", file=sys.stderr)
    return 0 if n_ok > 0 or n_all == 0 else 1


def _annotated_name(path: str, index: int) -> str:
    from pathlib import Path

    p = Path(path)
    ext = p.suffix.lower() if p.suffix.lower() in (".jpg", ".jpeg", ".png") else ".png"
    return f"{index:05d}_{p.stem}{ext}"


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the shipped model on built-in schematic faces (no data needed)")
    p.add_argument("--json", action="store_true")


def _run_demo(a: argparse.Namespace) -> int:
    from emoscope.api import analyze_aligned
    from emoscope.outputs.demo import schematic_face

    for mood in ("smile", "frown", "surprise", "neutral"):
        res = analyze_aligned(schematic_face(mood), file=f"<schematic {mood} face>")
        if a.json:
            print(res.to_json())
        else:
            f = res.faces[0]
            top = sorted(f.probabilities.items(), key=lambda kv: -kv[1])[:3]
            print(f"{res.file:28s} -> {f.label:10s} (" + ", ".join(f"{k} {v:.2f}" for k, v in top) + ")")
    return 0


def _add_models(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("models", help="list the registered model architectures and the shipped model")


def _run_models(a: argparse.Namespace) -> int:
    from emoscope.tasks.expression.predictor import DEFAULT_MODEL

    try:
        from emoscope.models import list_models

        for name, desc in list_models().items():
            print(f"{name:22s} {desc}")
    except ImportError:
        print("(PyTorch is not installed: the training architectures are not listed)")
    import json

    from emoscope.tasks.micro.predictor import DEFAULT_MICRO_MODEL

    for what, path in (("expression", DEFAULT_MODEL), ("micro-expression", DEFAULT_MICRO_MODEL)):
        meta = json.loads(path.with_suffix(".json").read_text()) if path.with_suffix(".json").is_file() else {}
        print(f"shipped {what} model: {path} ({meta.get('model_name', 'unknown architecture')})")
    return 0


def _add_video(sub: argparse._SubParsersAction) -> None:
    from emoscope.tasks.video.cli import add_parser  # the video command lives with the video code

    add_parser(sub)


def _run_video(a: argparse.Namespace) -> int:
    from emoscope.tasks.video.cli import run

    return run(a)


def _add_batch(sub: argparse._SubParsersAction) -> None:
    from emoscope.tasks.batch.cli import add_parser  # the batch command lives with the batch code

    add_parser(sub)


def _run_batch(a: argparse.Namespace) -> int:
    from emoscope.tasks.batch.cli import run

    return run(a)


def _run_micro_cmd(a: argparse.Namespace) -> int:
    from emoscope.tasks.micro.cli import run_micro  # the micro-expression commands live with the micro code

    return run_micro(a)


def _run_spot_cmd(a: argparse.Namespace) -> int:
    from emoscope.tasks.micro.cli import run_spot

    return run_spot(a)


def _run_serve(a: argparse.Namespace) -> int:
    from emoscope.service.cli import run_serve

    return run_serve(a)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="emoscope", description="Read emotion from faces.")
    sub = p.add_subparsers(dest="command", required=True)
    _add_predict(sub)
    _add_evaluate(sub)
    _add_train(sub)
    _add_export(sub)
    _add_models(sub)
    _add_demo(sub)
    from emoscope.tasks.affect.cli import add_calibrate

    add_calibrate(sub)
    from emoscope.tasks.micro.cli import add_micro_parser, add_spot_parser

    add_micro_parser(sub)
    add_spot_parser(sub)
    _add_video(sub)
    _add_batch(sub)
    from emoscope.service.cli import add_serve_parser  # the serve command lives with the service code

    add_serve_parser(sub)
    return p


def _os_error_message(e: OSError) -> str:
    """``<file>: <reason>`` for an OSError: the destination of a two-file operation (a rename), else its file;
    the error's own text when it names no file."""
    name = e.filename2 if e.filename2 is not None else e.filename
    if name is None or not e.strerror:
        return str(e)
    return f"{os.fsdecode(name) if isinstance(name, bytes) else name}: {e.strerror}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from emoscope.tasks.affect.cli import run_calibrate

    handlers = {"train": _run_train, "evaluate": _run_evaluate, "export": _run_export, "calibrate": run_calibrate,
                "predict": _run_predict, "models": _run_models, "demo": _run_demo, "micro": _run_micro_cmd,
                "spot": _run_spot_cmd, "video": _run_video, "serve": _run_serve,
                "batch": _run_batch}
    try:
        return handlers[args.command](args)
    except EmoscopeError as e:
        print(f"emoscope: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # e.g. an output that could not be written: a message naming the file, no traceback
        print(f"emoscope: error: {_os_error_message(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("emoscope: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
