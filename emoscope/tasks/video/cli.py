"""The ``emoscope video`` command: expression timelines of a video file or a live camera.

Registered by :mod:`emoscope.cli` (``add_parser`` / ``run``); kept here so that the video options live with the
video code.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from emoscope.argtypes import float_range, int_range
from emoscope.tasks.video.analyze import DEFAULT_EVERY, DEFAULT_SMOOTHING


def threads_arg(text: str) -> int:
    """argparse type: ONNX Runtime threads, 0..MAX_THREADS (0 = all cores)."""
    from emoscope.tasks.expression.predictor import MAX_THREADS

    return int_range(0, MAX_THREADS)(text)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "video",
        help="expression timelines of the faces in a video (or a live camera): CSV, JSON, plot, annotated video",
        description="Detect, track (stable face ids) and classify every face on every frame; smooth the "
        "probabilities over time; write a per-frame CSV, an annotated video and a timeline plot.",
    )
    p.add_argument(
        "input", nargs="?", help="video file (anything OpenCV's FFmpeg reads: .mp4, .avi, .mkv, ...)"
    )
    p.add_argument(
        "--camera", type=int_range(0), metavar="INDEX", help="analyse a live camera instead (e.g. 0); Ctrl-C stops"
    )
    p.add_argument(
        "--out", metavar="VIDEO", help="annotated copy: boxes, face ids, labels, probability bars (.mp4/.avi)"
    )
    p.add_argument(
        "--csv", metavar="CSV", help="per-frame table: time, frame, face id, box, probabilities, label"
    )
    p.add_argument("--plot", metavar="PNG", help="each face's expression probabilities over time")
    p.add_argument(
        "--json", action="store_true", help="print the whole result (summary + every frame) as one JSON line"
    )
    every_help = f"run the face detector every N frames, track in between (default {DEFAULT_EVERY}; 1 = all)"
    p.add_argument("--every", type=int, default=DEFAULT_EVERY, metavar="N", help=every_help)
    smooth_help = f"time constant of the probability smoothing (default {DEFAULT_SMOOTHING}; 0 = off)"
    p.add_argument("--smooth", type=float_range(0), default=DEFAULT_SMOOTHING, metavar="SECONDS", help=smooth_help)
    p.add_argument(
        "--micro",
        action="store_true",
        help="also spot micro-expressions on each face and classify them (negative / positive / surprise)",
    )
    p.add_argument("--max-frames", type=int_range(1), metavar="N", help="stop after N frames")
    p.add_argument("--model", help="an exported .onnx expression model (default: the shipped one)")
    p.add_argument("--head", help="label set: ferplus (8 emotions, default) or fer2013 (7)")
    p.add_argument("--threads", type=threads_arg, default=1,
                   help="ONNX Runtime threads, 0..256 (default 1: small batches; 0 = all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _fail(msg: str) -> int:
    print(f"emoscope: error: {msg}", file=sys.stderr)
    return 2


def _live_view(quiet: bool):
    """A callback showing the annotated frames in a window (OpenCV with GUI support), else the current labels on
    stderr about once a second. Pressing q or Esc in the window stops (like Ctrl-C)."""
    import cv2

    from emoscope.outputs.video import draw_video_frame

    try:
        cv2.namedWindow("emoscope", cv2.WINDOW_NORMAL)
        gui = True
    except cv2.error:
        gui = False
        if not quiet:
            print("emoscope: no display (OpenCV without GUI support): current labels follow; Ctrl-C stops",
                  file=sys.stderr)  # fmt: skip
    state = {"last": 0.0, "n": 0, "t0": time.perf_counter()}

    def show(frame, image) -> None:
        state["n"] += 1
        if gui:
            cv2.imshow("emoscope", draw_video_frame(image, frame.faces, frame.time))
            if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                raise KeyboardInterrupt
            return
        now = time.perf_counter()
        if quiet or now - state["last"] < 1.0:
            return
        state["last"] = now
        fps = state["n"] / max(now - state["t0"], 1e-9)
        faces = " | ".join(f"face {f.face_id}: {f.label} {f.probabilities[f.label]:.2f}" for f in frame.faces)
        print(f"{frame.time:8.2f} s  {fps:5.1f} frames/s  {faces or 'no face'}", file=sys.stderr, flush=True)

    def close() -> None:
        if gui:
            cv2.destroyAllWindows()

    return show, close


def _summary_lines(res) -> list[str]:
    fps = f", {res.fps:.2f} frames/s" if res.fps else ""
    lines = [f"{res.file}: {len(res.frames)} frames, {res.duration:.2f} s{fps}, {len(res.face_ids)} face(s)"]
    for s in res.summaries():
        top = sorted(s.mean_probabilities.items(), key=lambda kv: -kv[1])[:3]
        lines.append(
            f"  face {s.face_id}: frames {s.first_frame}-{s.last_frame} ({s.first_time:.2f}-{s.last_time:.2f} s), "
            f"seen on {s.frames}: mostly {s.label} (" + ", ".join(f"{k} {v:.2f}" for k, v in top) + ")"
        )
    if not res.face_ids and res.frames:
        lines.append("  no face found")
    for e in res.micro_events:
        frames = f"{e.onset_frame}-{e.apex_frame}-{e.offset_frame}"
        lines.append(f"  micro-expression: face {e.face_id} {e.label} ({e.confidence:.2f}), frames {frames} "
                     f"(onset-apex-offset; {e.onset_time:.2f}-{e.offset_time:.2f} s)")  # fmt: skip
    return lines


def run(a: argparse.Namespace) -> int:
    """Run ``emoscope video``. Exit status: 0 done; 1 the video broke off (truncated / corrupt) but the frames
    before were analysed and written; 2 bad arguments, an unreadable input or an output that could not be written
    (the others are written); 130 interrupted (outputs hold the frames analysed before)."""
    from emoscope.api import Analyzer
    from emoscope.input.video import open_camera, open_video
    from emoscope.outputs.files import OutputError, check_distinct_outputs, check_output_path
    from emoscope.outputs.video import CODECS
    from emoscope.tasks.expression.predictor import ExpressionRecognizer
    from emoscope.tasks.video.analyze import VideoAnalyzer

    if (a.input is None) == (a.camera is None):
        return _fail("give one video file, or --camera INDEX")
    if a.every < 1:
        return _fail(f"--every must be >= 1, got {a.every}")
    if a.smooth < 0:
        return _fail(f"--smooth must be >= 0 seconds, got {a.smooth}")
    if a.out and Path(a.out).suffix.lower() not in CODECS:
        return _fail(f"--out {a.out}: the annotated video must end in one of {', '.join(CODECS)}")
    if a.plot and Path(a.plot).suffix.lower() != ".png":
        return _fail(f"--plot {a.plot}: the timeline plot is a PNG image; give a name ending in .png")
    outputs = {"--out": a.out, "--csv": a.csv, "--plot": a.plot}
    for opt, path in outputs.items():
        if path and a.input and Path(path).resolve() == Path(a.input).resolve():
            return _fail(f"{opt} {path} would overwrite the input video")
    try:  # a bad output path is reported now, not after the whole video was analysed
        check_distinct_outputs(outputs)
        for opt, path in outputs.items():
            if path:
                check_output_path(path, opt)
    except OutputError as e:
        return _fail(str(e))
    analyzer = Analyzer(ExpressionRecognizer(a.model, head=a.head, threads=a.threads))
    live = a.camera is not None
    reader = (
        open_camera(a.camera, max_frames=a.max_frames)
        if live
        else open_video(a.input, max_frames=a.max_frames)
    )
    show, close_view = _live_view(a.quiet) if live else (None, lambda: None)
    try:
        micro = {}
        if a.micro:
            from emoscope.tasks.micro.video import crop_align, make_video_spotter

            micro = {"spotter": make_video_spotter(), "crop_align": crop_align}
        res = VideoAnalyzer(analyzer, every=a.every, smoothing=a.smooth).analyze(
            reader, annotated=a.out, on_frame=show, progress=not (a.quiet or live), **micro
        )
    finally:
        close_view()
    written = [a.out] if a.out and res.frames else []
    failed = []
    for path, write in ((a.csv, res.to_csv), (a.plot, res.plot)):
        if path:
            try:  # one output that cannot be written does not lose the others
                write(path)
                written.append(path)
            except OSError as e:  # an OutputError names the target already
                failed.append(str(e) if isinstance(e, OutputError) else f"{path}: {e.strerror or e}")
    for problem in res.problems:
        print(f"emoscope: warning: {problem}", file=sys.stderr)
    if a.json:
        d = res.to_dict()
        d["outputs"] = written
        import json

        print(json.dumps(d))
    else:
        print("\n".join(_summary_lines(res)))
        if written:
            print("wrote " + ", ".join(written))
    for msg in failed:
        print(f"emoscope: error: {msg}", file=sys.stderr)
    if failed:
        return 2
    if res.interrupted and not live:
        return 130
    return 0 if res.complete else 1
