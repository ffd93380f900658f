"""The micro-expression commands: ``emoscope micro``, ``emoscope spot``, ``emoscope train micro`` and
``emoscope evaluate micro`` (registered by :mod:`emoscope.cli`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoscope.argtypes import float_range, int_list, int_range
from emoscope.errors import EmoscopeError, InputError

#: the names of emoscope.tasks.micro.loso.RECIPES (kept here so that building the parser does not import torch)
RECIPE_NAMES = ["default", "augmented", "warp", "mixup", "ststnet_code"]


def add_train_micro(tsub: argparse._SubParsersAction) -> None:
    m = tsub.add_parser(
        "micro", help="train a micro-expression network on the whole MEGC2019 composite, export ONNX"
    )
    m.add_argument(
        "--data", required=True, help="MEGC2019 folder (combined_3_class2_for_optical_flow.csv, flow images)"
    )
    m.add_argument(
        "--out", required=True, help="ONNX file to write (its .json metadata is written beside it)"
    )
    m.add_argument(
        "--model",
        default="micro_attn_plain",
        help="registered micro_* model (default: the shipped architecture)",
    )
    m.add_argument("--recipe", choices=RECIPE_NAMES, default="default")
    m.add_argument("--select-recipe", metavar="NAMES",
                   help="comma-separated candidate recipes: choose one by subject-wise cross-validation on the whole "
                        "composite (--inner-folds parts), then train with it")  # fmt: skip
    m.add_argument(
        "--inner-folds", type=int_range(2), default=4, help="subject-wise parts for --select-recipe"
    )
    m.add_argument(
        "--jobs", type=int_range(1), default=1, help="--select-recipe trainings run in parallel processes"
    )
    m.add_argument("--seed", type=int, default=0)
    m.add_argument(
        "--seeds",
        type=int_list(distinct=True),
        help="comma-separated seeds: one network each, shipped as one averaging ensemble",
    )
    m.add_argument(
        "--loso-json",
        metavar="FILE",
        help="output of 'emoscope evaluate micro --json' for this model: its figures go into the metadata",
    )
    m.add_argument("--calibrate-from", metavar="CSV",
                   help="'evaluate micro --predictions' CSV of this model: fit the temperature on the held-out predictions")  # fmt: skip


def run_train_micro(a: argparse.Namespace) -> int:
    """Run ``emoscope train micro``. Every input (files, names) is checked before any training, and the .onnx and
    its .json are replaced together only once both are complete."""
    from emoscope.datasets.megc2019 import load_megc2019
    from emoscope.tasks.micro.export import (
        check_loso_summary,
        check_model_path,
        read_loso_summary,
        temperature_from_predictions,
        train_and_export,
    )
    from emoscope.tasks.micro.loso import check_micro_model

    if a.select_recipe and a.recipe != "default":
        raise EmoscopeError("give --recipe or --select-recipe, not both")
    cands = _recipe_list(a.select_recipe) if a.select_recipe else None
    check_micro_model(a.model)
    check_model_path(a.out)
    if a.calibrate_from:  # a device or huge file is refused before the dataset is read
        from emoscope.tasks.micro.export import check_side_file

        check_side_file(a.calibrate_from, "--calibrate-from")
    summary = None
    if a.loso_json:
        summary = read_loso_summary(a.loso_json)
        check_loso_summary(summary, a.model, a.loso_json)
    seeds = a.seeds or a.seed
    data = load_megc2019(a.data)
    if a.calibrate_from:  # read (and refused if bad) now, not after the training
        temperature_from_predictions(a.calibrate_from, a.model, tuple(data.classes), len(a.seeds or []) > 1)
    recipe, selection = a.recipe, None
    if cands is not None:
        from emoscope.tasks.micro.loso import select_recipe

        recipe, scores = select_recipe(data, a.model, cands, a.seed, inner_folds=a.inner_folds, jobs=a.jobs)
        selection = {"candidates": cands, "inner_folds": a.inner_folds, "seed": a.seed, "scores": scores,
                     "chosen": recipe, "on": f"all {len(data)} samples, subject-wise {a.inner_folds}-fold"}  # fmt: skip
        print("recipe selection (" + f"{a.inner_folds} subject-wise folds): "
              + ", ".join(f"{n} UF1 {d['uf1']:.4f} UAR {d['uar']:.4f}" for n, d in scores.items())
              + f" -> {recipe}")  # fmt: skip
    meta = train_and_export(
        data, a.out, a.model, recipe, seeds, loso_summary=summary, predictions_csv=a.calibrate_from,
        selection=selection,
    )  # fmt: skip
    loso = meta.get("loso")
    print(f"trained {a.model} on {meta['trained_on']}; wrote {a.out} ({meta['onnx_bytes']} bytes), temperature "
          f"{meta['temperature']}" + (f"; LOSO UF1 {loso['uf1']:.4f} UAR {loso['uar']:.4f}" if loso else ""))  # fmt: skip
    return 0


def add_micro_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "micro",
        help="micro-expression (negative / positive / surprise) from an onset and an apex frame, or from a clip",
        description="emoscope micro ONSET APEX: the movement between two frames; emoscope micro CLIP: a folder of "
        "frames or a short video, apex = frame of largest motion from the onset (reported).",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="ONSET_IMG APEX_IMG, or one CLIP_DIR_OR_VIDEO")
    p.add_argument(
        "--onset", type=int, default=0, help="onset frame index in a clip (default 0: the first frame)"
    )
    p.add_argument("--apex", type=int, help="apex frame index in a clip (default: estimated)")
    p.add_argument(
        "--aligned", action="store_true", help="frames are already face crops (skip face detection)"
    )
    p.add_argument("--flow", choices=["tvl1", "farneback"], default="tvl1", help="optical flow method")
    p.add_argument("--model", help="micro ONNX model (default: the shipped one)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run_micro(a: argparse.Namespace) -> int:
    """Run ``emoscope micro``. Exit status: 0 done; 1 the video broke off (truncated / corrupt) and only the frames
    before were analysed (warned on stderr, and under ``problems`` with --json); 2 bad arguments or input."""
    from emoscope.input.images import read_image
    from emoscope.tasks.micro.predictor import MicroRecognizer

    if len(a.inputs) > 2:
        print("emoscope: error: give ONSET APEX (two images) or one clip folder / video", file=sys.stderr)
        return 2
    if len(a.inputs) == 2 and (a.onset != 0 or a.apex is not None):
        print("emoscope: error: --onset / --apex choose frames of a clip; with ONSET APEX images give neither",
              file=sys.stderr)  # fmt: skip
        return 2
    rec = MicroRecognizer(a.model)
    problems: list[str] = []
    if len(a.inputs) == 2:
        frames, names = [read_image(a.inputs[0]), read_image(a.inputs[1])], list(a.inputs)
        if frames[0].shape != frames[1].shape:
            raise EmoscopeError(f"{a.inputs[1]}: size {frames[1].shape[1]}x{frames[1].shape[0]} differs from the "
                                f"onset frame's {frames[0].shape[1]}x{frames[0].shape[0]}")  # fmt: skip
        res = rec.analyze_frames(frames, apex=1, aligned=a.aligned, method=a.flow, names=names)
        res.file = f"{a.inputs[0]} -> {a.inputs[1]}"
    else:
        from emoscope.input.clips import read_clip

        clip = read_clip(a.inputs[0])
        problems = clip.problems
        _warn(problems)
        res = rec.analyze_frames(clip.frames, onset=a.onset, apex=a.apex, aligned=a.aligned, method=a.flow,
                                 names=clip.names, source=a.inputs[0])  # fmt: skip
        res.file, res.problems = a.inputs[0], problems
    status = 1 if problems else 0
    if a.json:
        print(res.to_json())
        return status
    probs = "  ".join(f"{k} {v:.2f}" for k, v in res.probabilities.items())
    how = "estimated: largest motion from the onset" if res.apex_estimated else "given"
    print(f"{res.file}: {res.label}  ({probs})")
    print(f"  onset frame {res.onset_frame}, apex frame {res.apex_frame} ({how}), motion {res.motion:.3f} px")
    if res.motion < 0.1:
        print("  note: the two frames hardly differ; the reading means little")
    return status


def add_spot_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "spot",
        help="find micro-expression intervals (onset / apex / offset) in a clip of one face and classify them",
    )
    p.add_argument(
        "clip", metavar="CLIP_DIR_OR_VIDEO", help="a folder of frames or a video (every face is tracked)"
    )
    p.add_argument(
        "--fps",
        type=float_range(0, low_open=True),
        help="frames per second (needed for a folder of frames; a video's own by default)",
    )
    p.add_argument(
        "--aligned", action="store_true", help="frames are already face crops (skip face detection)"
    )
    p.add_argument(
        "--threshold",
        type=float_range(0),
        help="signal threshold in px (default: robust, from the clip itself)",
    )
    p.add_argument("--all", action="store_true", help="also list movements longer than 0.5 s (macro)")
    p.add_argument("--no-classify", action="store_true", help="only spot, do not classify the intervals")
    p.add_argument("--model", help="micro ONNX model (default: the shipped one)")
    p.add_argument("--max-frames", type=int_range(1), default=20_000, help="longest clip read (frames)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run_spot(a: argparse.Namespace) -> int:
    """Run ``emoscope spot``. Exit status: 0 done; 1 the video broke off (truncated / corrupt) and only the frames
    before were spotted in (warned on stderr, and under ``problems`` with --json); 2 bad arguments or input."""
    import json

    from emoscope.input.clips import MAX_CLIP_FRAMES, read_clip
    from emoscope.tasks.micro.predictor import MicroRecognizer, spot_frames
    from emoscope.tasks.micro.spotting import min_frames
    from emoscope.tasks.micro.video import spot_video

    clip = read_clip(a.clip, max_frames=a.max_frames or MAX_CLIP_FRAMES)
    problems = clip.problems
    _warn(problems)
    fps = a.fps or clip.fps
    if not fps:
        raise EmoscopeError(f"{a.clip}: the frame rate is unknown: give --fps")
    need = min_frames(fps)
    if len(clip.frames) < need:
        raise InputError(a.clip, f"{len(clip.frames)} frame(s) is too short to spot movements in: at {fps:g} fps "
                         f"it takes at least {need} frames")  # fmt: skip
    rec = None if a.no_classify else MicroRecognizer(a.model)
    if a.aligned:  # one face, already cropped
        res = spot_frames(
            clip.frames, fps, recognizer=rec, aligned=True, threshold=a.threshold, names=clip.names
        )
        per_face = {0: res.intervals}
    else:  # faces found and tracked as in 'emoscope video'
        per_face = spot_video(clip.frames, fps, recognizer=rec, threshold=a.threshold)
    shown = [(fid, iv) for fid, ivs in per_face.items() for iv in ivs if a.all or iv.kind == "micro"]
    if a.json:
        rows = [{"face_id": fid, **iv.to_dict()} for fid, iv in shown]
        print(json.dumps({"file": a.clip, "n_frames": len(clip.frames), "fps": fps, "faces": sorted(per_face),
                          "intervals": rows, "problems": problems}))  # fmt: skip
        return 1 if problems else 0
    print(
        f"{a.clip}: {len(clip.frames)} frames at {fps:g} fps, {len(per_face)} face(s): {len(shown)} interval(s)"
    )
    for fid, iv in shown:
        cls = f"  {iv.label} ({iv.probabilities[iv.label]:.2f})" if iv.label else ""
        print(f"  face {fid} {iv.kind}: frames {iv.onset}-{iv.apex}-{iv.offset} (onset-apex-offset), "
              f"{iv.onset_s:.3f}-{iv.offset_s:.3f} s, peak {iv.score:.3f} px{cls}")  # fmt: skip
    return 1 if problems else 0


def _warn(problems: list[str]) -> None:
    for problem in problems:
        print(f"emoscope: warning: {problem}", file=sys.stderr)


def add_evaluate_micro(tsub: argparse._SubParsersAction) -> None:
    m = tsub.add_parser(
        "micro", help="micro-expressions: train and score Leave-One-Subject-Out (needs PyTorch)"
    )
    m.add_argument("--dataset", choices=["megc2019"], required=True)
    m.add_argument(
        "--data", required=True, help="MEGC2019 folder (combined_3_class2_for_optical_flow.csv, flow images)"
    )
    m.add_argument(
        "--protocol", choices=["loso"], default="loso", help="one fold per subject, predictions pooled"
    )
    m.add_argument(
        "--model",
        default="micro_attn_plain",
        help="registered micro_* model (default: the shipped architecture)",
    )
    m.add_argument("--recipe", choices=RECIPE_NAMES, default="default",
                   help="fixed training recipe of every fold (augmented: + rotation/scale warping and mixup; warp: "
                        "+ rotation/scale only; mixup: + mixup only; ststnet_code: the STSTNet authors' training)")  # fmt: skip
    m.add_argument("--select-recipe", metavar="NAMES",
                   help="comma-separated candidate recipes, e.g. default,warp: nested LOSO, the recipe is chosen "
                        "inside every fold by subject-wise cross-validation on the other subjects only")  # fmt: skip
    m.add_argument(
        "--inner-folds",
        type=int_range(2),
        default=4,
        help="subject-wise parts of the inner cross-validation",
    )
    m.add_argument("--seed", type=int, default=0)
    m.add_argument(
        "--seeds",
        type=int_list(distinct=True),
        help="comma-separated seeds, e.g. 0,1,2: one full run each, mean and spread reported",
    )
    m.add_argument("--epochs", type=int_range(1), help="override the recipe's (fixed) number of epochs")
    m.add_argument(
        "--limit-folds",
        type=int_range(0),
        default=0,
        help="run only N folds spread over the subjects (smoke runs)",
    )
    m.add_argument(
        "--jobs",
        type=int_range(1),
        default=1,
        help="folds trained in parallel processes (same numbers for any N)",
    )
    m.add_argument(
        "--predictions", metavar="CSV", help="write every held-out prediction (one row per sample and seed)"
    )
    m.add_argument("--ensemble", action="store_true",
                   help="with --seeds: also score the seed ensemble (per fold, the mean of the seeds' networks)")  # fmt: skip
    m.add_argument(
        "--json", action="store_true", help="print the figures as one JSON object on the last line"
    )


def run_evaluate_micro(a: argparse.Namespace) -> int:
    import dataclasses
    import json

    from emoscope.datasets.megc2019 import load_megc2019
    from emoscope.tasks.micro.loso import (
        RECIPES,
        check_micro_model,
        ensemble_runs,
        format_summary,
        run_loso,
        run_loso_nested,
        summarize_runs,
    )

    # every argument is checked before the (long) LOSO run
    check_micro_model(a.model)
    seeds = a.seeds or [a.seed]
    if a.ensemble and len(seeds) < 2:
        raise EmoscopeError("--ensemble needs two or more --seeds")
    if a.predictions:
        _check_writable(a.predictions, "--predictions", inside=a.data)

    def with_epochs(r):
        return r if a.epochs is None else dataclasses.replace(r, epochs=a.epochs)

    recipe = with_epochs(RECIPES[a.recipe])
    cands = None
    if a.select_recipe and a.recipe != "default":
        raise EmoscopeError("give --recipe or --select-recipe, not both")
    if a.select_recipe:
        cands = {n: with_epochs(RECIPES[n]) for n in _recipe_list(a.select_recipe)}
    data = load_megc2019(a.data)
    results = []
    for seed in seeds:

        def progress(fold, probs, sec, seed=seed):
            acc = float((probs.argmax(1) == data.labels[fold.test]).mean())
            print(f"seed {seed} fold {fold.index + 1:2d} {fold.subject:14s} n={len(fold.test):2d} acc={acc:.2f} "
                  f"({sec:.1f} s)", file=sys.stderr, flush=True)  # fmt: skip

        def inner(done, total, seed=seed):
            if done == total or done % max(1, total // 20) == 0:
                print(
                    f"seed {seed} recipe selection: {done}/{total} inner trainings",
                    file=sys.stderr,
                    flush=True,
                )

        epochs = f" (epochs={a.epochs})" if a.epochs is not None else ""
        if cands is not None:
            res = run_loso_nested(data, a.model, cands, seed, inner_folds=a.inner_folds,
                                  limit_folds=a.limit_folds, jobs=a.jobs, progress=progress, inner_progress=inner)  # fmt: skip
            res.recipe_name += epochs
            counts = res.selection["chosen_counts"]
            print(f"seed {seed}: recipe chosen per fold: " + ", ".join(f"{n} {c}" for n, c in counts.items()),
                  file=sys.stderr)  # fmt: skip
        else:
            res = run_loso(
                data, a.model, recipe, seed, limit_folds=a.limit_folds, jobs=a.jobs, progress=progress
            )
            res.recipe_name = a.recipe + epochs
        results.append(res)
    summary = summarize_runs(results)
    print(format_summary(summary, data.classes))
    if a.ensemble:
        ens = summarize_runs([ensemble_runs(results)])
        print("\nseed ensemble:")
        print(format_summary(ens, data.classes))
        summary["ensemble"] = {
            k: ens[k] for k in ("uf1", "uar", "accuracy", "confusion", "per_dataset", "recipe")
        }
    if a.predictions:
        import csv
        import os

        rows = [row for r in results for row in r.prediction_rows()]
        tmp = Path(a.predictions).with_name(Path(a.predictions).name + ".tmp")
        try:
            with open(tmp, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows)
            os.replace(tmp, a.predictions)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise EmoscopeError(
                f"--predictions {a.predictions}: cannot be written ({e.strerror or e})"
            ) from e
        print(f"predictions written to {a.predictions}")
    if a.json:
        print(json.dumps(summary))
    return 0


def _check_writable(path: str, option: str, inside: str | None = None) -> None:
    """Refuse an output file whose folder is missing, not writable or which is a folder, or which lies inside the
    dataset folder ``inside`` (its label CSV or any other file there), before any work is done."""
    from emoscope.errors import OutputError
    from emoscope.outputs.files import check_output_path

    p = Path(path)
    if p.is_dir():
        raise EmoscopeError(f"{option} {path}: is a folder, not a file")
    if not p.parent.is_dir():
        raise EmoscopeError(f"{option} {path}: the folder {p.parent} does not exist")
    if inside is not None:
        data = Path(inside).resolve()
        target = p.resolve()
        if target == data or data in target.parents:
            raise OutputError(path, f"{option} lies inside the dataset folder {inside}; write it elsewhere")
    check_output_path(p, option)


def _recipe_list(text: str) -> list[str]:
    """``default,warp`` -> ``["default", "warp"]``; unknown or repeated names are an error."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in RECIPE_NAMES]
    if unknown:
        raise EmoscopeError(f"--select-recipe: unknown recipe(s) {unknown}; known: {RECIPE_NAMES}")
    if len(set(names)) < 2 or len(set(names)) != len(names):
        raise EmoscopeError(f"--select-recipe needs two or more distinct recipes, got {text!r}")
    return names
