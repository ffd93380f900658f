"""emoscope side by side with the expression tools people use today, on the same inputs, in the same run.

Every tool runs as a subprocess (``benchmarks/peer_worker.py``) in its own Python: emoscope in this one, each peer
in its virtual environment under ``.peers/<name>/`` (``bash benchmarks/setup_peers.sh``). The workers only
predict; every figure below is computed here with emoscope's metrics code (``classification_report``).

Inputs (built in memory from ``../shared/data``, handed to the workers as ``.npy`` files in a temporary folder that
is deleted at the end; nothing is written into the repository):

* crops: all of FER2013 PrivateTest (3,589) and all FER+ test faces with an emotion majority (``--limit N``: a
  fixed random subset, seed 0, the same for every tool);
* pictures: generated 640x480 scenes (``emoscope.faces.scenes``) of FER+ test faces. Accuracy: ``--scene-faces``
  scenes with one face each (64-200 px, rolled up to 15 deg). Speed: 20 scenes with 1 face and 20 with 5 faces
  (80-160 px, up to 10 deg), looped for ``--seconds``; images/s from picture in memory to faces with emotions.

Scoring. Each tool's labels are mapped onto emoscope's canonical names (``emoscope.labels.canonical``: angry ->
anger, happy -> happiness, sad -> sadness, ...). FER2013: 7 classes (emoscope's ``fer2013`` head; a peer's
contempt column, if any, is dropped and the row renormalised). FER+ (8): majority labels over 8 emotions
(emoscope's ``ferplus`` head); a tool without contempt never predicts it, so contempt faces count as wrong. FER+ (7):
the faces whose majority is one of the 7 shared emotions, every tool's contempt column dropped (emoscope's too).
Pictures: a face counts as found when a detection's centre lies inside its true square and the detection's side
is 0.4-1.6 times the true side (detectors frame faces differently); its FER+ label (8 classes) is compared with the
argmax of that detection.

Speed and memory are measured pair by pair: emoscope's speed worker runs right before each peer's, on the same
pictures, and each ratio uses that pair. Peak RSS is the speed worker's peak resident memory (interpreter,
framework, models, the 40 pictures). Every tool is limited to ``--threads`` threads (default 1, see
``peer_worker.py``).

    python benchmarks/compare_peers.py [--peers fer,fer-mtcnn,...] [--limit 0] [--scene-faces 500] \\
        [--seconds 10] [--threads 1] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emoscope.datasets import load_fer2013, load_ferplus
from emoscope.evaluation.metrics import classification_report
from emoscope.faces.scenes import box_iou, make_scene
from emoscope.labels import FER2013_CLASSES, FERPLUS_CLASSES, canonical

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "benchmarks" / "peer_worker.py"
SHARED7 = tuple(c for c in FERPLUS_CLASSES if c != "contempt")


@dataclass
class Peer:
    """One configuration of a peer tool: ``name`` (shown), ``venv`` (folder under the peers dir), ``tool`` (the
    worker's adapter), worker options, what it is measured on; ``crops_from``: the configuration whose crop figures
    hold for this one too (same classifier), so its crops are not measured again."""

    name: str
    venv: str
    tool: str
    options: dict[str, str] = field(default_factory=dict)
    crops: bool = True
    pictures: bool = True
    crops_from: str | None = None
    note: str = ""


PEERS = [
    Peer("fer", "fer", "fer", note="fer 25.10.3 default: Haar cascade + mini-Xception (quantized TFLite)"),
    Peer(
        "fer-mtcnn",
        "fer",
        "fer",
        {"mtcnn": "1"},
        crops_from="fer",
        note="FER(mtcnn=True): MTCNN + same TFLite model",
    ),
    Peer(
        "fer-keras",
        "fer",
        "fer",
        {"model": "keras"},
        pictures=False,
        note="FER(use_tflite=False): float Keras .hdf5",
    ),
    Peer("deepface", "deepface", "deepface", note="DeepFace.analyze(actions=['emotion']), OpenCV detector"),
    Peer("py-feat", "py-feat", "py-feat", note="feat.Detectorv1(): RetinaFace + ResMaskNet"),
    Peer(
        "hsemotion",
        "hsemotion",
        "hsemotion",
        pictures=False,
        note="HSEmotionRecognizer('enet_b0_8_best_vgaf')",
    ),
    Peer(
        "hsemotion-onnx", "hsemotion-onnx", "hsemotion-onnx", pictures=False, note="same model, ONNX Runtime"
    ),
    Peer(
        "emotiefflib",
        "emotiefflib",
        "emotiefflib",
        pictures=False,
        note="EmotiEffLibRecognizer(engine='onnx')",
    ),
]


def run_worker(python: str, tool: str, task: str, inputs: list[Path], out: Path, threads: int, seconds: float,
               options: dict[str, str] | None = None, timeout: float = 3600.0) -> dict:  # fmt: skip
    """Run one worker job; returns its result.json (with ``error`` when the tool failed)."""
    cmd = [python, str(WORKER), "--tool", tool, "--task", task, "--out", str(out), "--threads", str(threads),
           "--seconds", str(seconds), "--input", *map(str, inputs)]  # fmt: skip
    for k, v in (options or {}).items():
        cmd += ["--option", f"{k}={v}"]
    env = dict(os.environ)
    for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        env[v] = str(threads)
    env.update(TF_NUM_INTEROP_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env.pop("PYTHONPATH", None)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"worker timed out after {timeout:.0f} s", "stage": task}
    res_file = out / "result.json"
    if not res_file.is_file():
        tail = (p.stderr or p.stdout).strip().splitlines()[-5:]
        return {"error": f"worker exited {p.returncode} without a result: " + " | ".join(tail), "stage": task}
    res = json.loads(res_file.read_text())
    res["wall_s"] = round(time.perf_counter() - t0, 2)
    if res.get("error") and "http" not in res["error"]:
        # name what the tool was fetching: hsemotion and py-feat print the URL, their exception does not
        urls = [ln.strip() for ln in (p.stdout + "\n" + p.stderr).splitlines() if "http" in ln]
        if urls:
            res["error"] += f" (last URL in its output: {urls[-1][:300]})"
    return res


def map_probs(probs: np.ndarray, tool_classes: list[str], target: tuple[str, ...]) -> np.ndarray:
    """``(N, K_tool)`` -> ``(N, len(target))`` by canonical name; target classes the tool lacks get 0, tool classes
    outside the target are dropped and the rows renormalised."""
    names = [canonical(c) for c in tool_classes]
    out = np.zeros((len(probs), len(target)), np.float64)
    for j, c in enumerate(target):
        if c in names:
            out[:, j] = probs[:, names.index(c)]
    s = out.sum(axis=1, keepdims=True)
    return np.divide(out, s, out=np.full_like(out, 1.0 / len(target)), where=s > 0)


def score_crops(probs: np.ndarray, tool_classes: list[str], y: np.ndarray, classes: tuple[str, ...]) -> dict:
    """Accuracy and macro-F1 over ``classes`` (y indexes ``classes``) with emoscope's classification_report."""
    rep = classification_report(y, map_probs(probs, tool_classes, classes), classes)
    return {"n": rep["n"], "accuracy": rep["accuracy"], "macro_f1": rep["macro_f1"]}


def score_ferplus(probs: np.ndarray, tool_classes: list[str], y: np.ndarray) -> dict:
    """FER+ on its 8 classes (contempt wrong where the tool has none) and on the 7 shared ones."""
    keep = y != FERPLUS_CLASSES.index("contempt")
    y7 = np.asarray([SHARED7.index(FERPLUS_CLASSES[i]) for i in y[keep]])
    return {"ferplus8": score_crops(probs, tool_classes, y, FERPLUS_CLASSES),
            "ferplus7": score_crops(probs[keep], tool_classes, y7, SHARED7)}  # fmt: skip


def found_face(truth: tuple[int, int, int, int], dets: list[list[float]]) -> int:
    """Index of the detection taken for the true face (centre inside, side 0.4-1.6x, best IoU), or -1."""
    tx, ty, tw, th = truth
    best, best_iou = -1, -1.0
    for j, d in enumerate(dets):
        x, y, w, h = d[:4]
        cx, cy = x + w / 2.0, y + h / 2.0
        side = (w * h) ** 0.5
        if tx <= cx <= tx + tw and ty <= cy <= ty + th and 0.4 * tw <= side <= 1.6 * tw:
            iou = box_iou(truth, (x, y, w, h))
            if iou > best_iou:
                best, best_iou = j, iou
    return best


def score_scenes(dets: list[list[list[float]]], tool_classes: list[str], boxes: list, y: np.ndarray) -> dict:
    found = right = extra = 0
    for d, box, label in zip(dets, boxes, y, strict=True):
        j = found_face(box, d)
        extra += len(d) - (j >= 0)
        if j >= 0:
            found += 1
            p = map_probs(np.asarray([d[j][4:]], np.float64), tool_classes, FERPLUS_CLASSES)
            right += int(p.argmax()) == int(label)
    n = len(y)
    return {"n": n, "recall": found / n, "accuracy_found": right / max(found, 1), "accuracy_all": right / n,
            "other_detections_per_image": extra / n}  # fmt: skip


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or "unknown"


def build_inputs(a: argparse.Namespace, work: Path) -> dict:
    fer = load_fer2013(a.fer2013, "test")
    fp = load_ferplus(a.ferplus, "test")
    fp = fp.subset(fp.labels >= 0)
    if a.limit:
        rng = np.random.default_rng(0)
        fer = fer.subset(np.sort(rng.choice(len(fer), min(a.limit, len(fer)), replace=False)))
        fp = fp.subset(np.sort(rng.choice(len(fp), min(a.limit, len(fp)), replace=False)))
    np.save(work / "fer2013.npy", fer.images)
    np.save(work / "ferplus.npy", fp.images)
    rng = np.random.default_rng(0)  # the speed scenes of bench_pipeline.py
    for n_faces in (1, 5):
        scenes = [make_scene([fp.images[i] for i in rng.choice(len(fp), n_faces, replace=False)], rng,
                             size_range=(80, 160), max_angle=10).image for _ in range(20)]  # fmt: skip
        np.save(work / f"speed{n_faces}.npy", np.stack(scenes))
    rng = np.random.default_rng(1)
    idx = rng.choice(len(fp), min(a.scene_faces, len(fp)), replace=False)
    scenes, boxes, labels = [], [], []
    for i in idx:
        sc = make_scene([fp.images[i]], rng, size_range=(64, 200), max_angle=15)
        if sc.boxes:
            scenes.append(sc.image)
            boxes.append(sc.boxes[0])
            labels.append(fp.labels[i])
    if scenes:
        np.save(work / "scenes.npy", np.stack(scenes))
    return {
        "fer2013_y": fer.labels,
        "ferplus_y": fp.labels,
        "scene_boxes": boxes,
        "scene_y": np.asarray(labels),
    }


def measure(python: str, tool: str, options: dict, peer: Peer | None, a: argparse.Namespace, work: Path,
            data: dict, tag: str) -> dict:  # fmt: skip
    """Crop and picture accuracy of one tool (emoscope when ``peer`` is None). Stops at the first error."""
    res: dict = {}
    jobs = []
    if peer is None or (peer.crops and not peer.crops_from):
        jobs += [("fer2013", "crops", [work / "fer2013.npy"]), ("ferplus", "crops", [work / "ferplus.npy"])]
    if (peer is None or peer.pictures) and data["scene_boxes"]:
        jobs.append(("scenes", "scenes", [work / "scenes.npy"]))
    for key, task, inputs in jobs:
        opts = dict(options)
        if peer is None and task == "crops":
            opts["head"] = "fer2013" if key == "fer2013" else "ferplus"
        out = work / tag / key
        r = run_worker(python, tool, task, inputs, out, a.threads, a.seconds, opts)
        res.setdefault("versions", r.get("versions", {}))
        if r.get("error"):
            if r.get("unsupported"):
                res[key] = {"unsupported": r["error"]}
                continue
            res["error"] = r["error"]
            res["error_stage"] = f"{key}/{r.get('stage', task)}"
            return res
        cls = r["classes"]
        if key == "fer2013":
            res[key] = score_crops(np.load(out / "probs.npy"), cls, data["fer2013_y"], FER2013_CLASSES)
            res[key]["crops_per_s"] = r["n"] / max(r["crops_s"], 1e-9)
            res[key]["crops_per_cpu_s"] = r["n"] / max(r["crops_cpu_s"], 1e-9)
        elif key == "ferplus":
            res.update(score_ferplus(np.load(out / "probs.npy"), cls, data["ferplus_y"]))
        else:
            dets = json.loads((out / "detections.json").read_text())
            res[key] = score_scenes(dets, cls, data["scene_boxes"], data["scene_y"])
        print(f"  {tag:16s} {key:8s} done in {r.get('wall_s', 0):.0f} s", file=sys.stderr)
    return res


def speed(python: str, tool: str, options: dict, a: argparse.Namespace, work: Path, tag: str) -> dict:
    r = run_worker(python, tool, "speed", [work / "speed1.npy", work / "speed5.npy"], work / tag / "speed",
                   a.threads, a.seconds, options)  # fmt: skip
    if r.get("error"):
        return {"error": r["error"]}
    return {"images_per_s_1": r["images_per_s"][0], "images_per_s_5": r["images_per_s"][1],
            "images_per_cpu_s_1": r["images_per_cpu_s"][0], "images_per_cpu_s_5": r["images_per_cpu_s"][1],
            "peak_rss_mb": r["peak_rss_mb"]}  # fmt: skip


# ----------------------------------------------------------------------------------------------------------------
# table

CROP_COLUMNS = [
    ("FER2013 acc", ("fer2013", "accuracy"), 3),
    ("FER2013 F1", ("fer2013", "macro_f1"), 3),
    ("FER+ acc (8)", ("ferplus8", "accuracy"), 3),
    ("FER+ F1 (8)", ("ferplus8", "macro_f1"), 3),
    ("FER+ acc (7)", ("ferplus7", "accuracy"), 3),
    ("FER+ F1 (7)", ("ferplus7", "macro_f1"), 3),
    ("crops/CPU-s", ("fer2013", "crops_per_cpu_s"), 0),
]
PICTURE_COLUMNS = [
    ("found", ("scenes", "recall"), 3),
    ("acc (found)", ("scenes", "accuracy_found"), 3),
    ("acc (all)", ("scenes", "accuracy_all"), 3),
    ("other det./img", ("scenes", "other_detections_per_image"), 3),
    ("img/s 1 face", ("speed", "images_per_s_1"), 1),
    ("img/s 5 faces", ("speed", "images_per_s_5"), 1),
    ("img/CPU-s 1 face", ("speed", "images_per_cpu_s_1"), 1),
    ("img/CPU-s 5 faces", ("speed", "images_per_cpu_s_5"), 1),
    ("peak RSS MB", ("speed", "peak_rss_mb"), 0),
]


def _get(r: dict, path: tuple[str, str]):
    v = r.get(path[0], {})
    return v.get(path[1]) if isinstance(v, dict) else None


def table(emo: dict, rows: list[tuple[Peer, dict, dict]], columns: list) -> str:
    """Markdown: for each peer measured on these columns, emoscope's row, the peer's row and their ratio."""
    lines = ["| tool | " + " | ".join(c[0] for c in columns) + " |", "|" + "---|" * (len(columns) + 1)]

    def fmt(v, d):
        return "–" if v is None else f"{v:,.{d}f}"

    for peer, pres, emo_speed in rows:
        e = dict(emo, speed=emo_speed)
        if pres.get("error") or all(_get(pres, c[1]) is None for c in columns):
            continue
        cells_e, cells_p, cells_r = [], [], []
        for _, path, d in columns:
            ve, vp = _get(e, path), _get(pres, path)
            if vp is None:
                ve = None  # not measured for this peer: no pair
            cells_e.append(fmt(ve, d))
            cells_p.append(fmt(vp, d))
            cells_r.append("–" if ve is None or vp is None or vp == 0 else f"{ve / vp:.2f}")
        lines.append("| emoscope | " + " | ".join(cells_e) + " |")
        lines.append(f"| {peer.name} | " + " | ".join(cells_p) + " |")
        lines.append("| *ratio emoscope/peer* | " + " | ".join(cells_r) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--peers", default=",".join(p.name for p in PEERS), help="comma-separated, from: %(default)s"
    )
    ap.add_argument("--peers-dir", default=str(ROOT / ".peers"))
    ap.add_argument("--fer2013", default=str(ROOT.parent / "shared" / "data" / "fer2013"))
    ap.add_argument("--ferplus", default=str(ROOT.parent / "shared" / "data" / "ferplus"))
    ap.add_argument("--limit", type=int, default=0, help="fixed random subset of each test set (0 = all)")
    ap.add_argument(
        "--scene-faces", type=int, default=500, help="one-face scenes for picture accuracy (0 = none)"
    )
    ap.add_argument("--seconds", type=float, default=10.0, help="time per speed measurement")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write every figure and error to this file")
    a = ap.parse_args()
    known = {p.name: p for p in PEERS}
    wanted = [s.strip() for s in a.peers.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in known]
    if unknown:
        ap.error(f"unknown peers {unknown}; known: {list(known)}")
    peers_dir = Path(a.peers_dir)
    meta = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_model(), "cores": os.cpu_count(), "threads": a.threads,
            "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]), "load_avg_start": os.getloadavg()}  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="emoscope-peers-"))
    try:
        data = build_inputs(a, work)
        meta.update(n_fer2013=len(data["fer2013_y"]), n_ferplus=len(data["ferplus_y"]),
                    n_scenes=len(data["scene_y"]))  # fmt: skip
        print(f"inputs: FER2013 {meta['n_fer2013']}, FER+ {meta['n_ferplus']}, scenes {meta['n_scenes']}",
              file=sys.stderr)  # fmt: skip
        emo = measure(sys.executable, "emoscope", {}, None, a, work, data, "emoscope")
        if emo.get("error"):
            raise SystemExit(f"emoscope failed: {emo['error']}")
        results: dict[str, dict] = {}
        rows = []
        for name in wanted:
            peer = known[name]
            python = peers_dir / peer.venv / "bin" / "python"
            if not python.is_file():
                err_file = peers_dir / f"{peer.venv}.install-error"
                why = (
                    err_file.read_text().strip()
                    if err_file.is_file()
                    else "not set up (run benchmarks/setup_peers.sh)"
                )
                results[name] = {"error": f"not installed: {why}", "error_stage": "install"}
                print(f"  {name}: not installed", file=sys.stderr)
                continue
            pres = measure(str(python), peer.tool, peer.options, peer, a, work, data, name)
            emo_speed: dict = {}
            if not pres.get("error") and peer.pictures and "unsupported" not in pres.get("scenes", {}):
                emo_speed = speed(sys.executable, "emoscope", {}, a, work, f"emoscope-speed-{name}")
                pres["speed"] = speed(str(python), peer.tool, peer.options, a, work, name)
                pres["emoscope_speed"] = emo_speed
            results[name] = pres
            rows.append((peer, pres, emo_speed))
            print(f"  {name}: {'FAILED' if pres.get('error') else 'ok'}", file=sys.stderr)
        meta["load_avg_end"] = os.getloadavg()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"# emoscope vs peers, {meta['date']}, {meta['cpu']} ({meta['cores']} cores), {a.threads} thread(s) per "
          f"tool, load average {meta['load_avg_start'][0]:.1f} -> {meta['load_avg_end'][0]:.1f}")  # fmt: skip
    print(f"# n: FER2013 PrivateTest {meta['n_fer2013']}, FER+ test {meta['n_ferplus']} (7 shared: "
          f"{emo['ferplus7']['n']}), one-face scenes {meta['n_scenes']}; command: {meta['command']}")  # fmt: skip
    print("\nFace crops (48x48 grey, as given; classifier only):\n")
    print(table(emo, [r for r in rows if not r[0].crops_from], CROP_COLUMNS))
    print(f"\nGenerated 640x480 pictures (detect + classify; {meta['n_scenes']} one-face scenes for found/acc; "
          "speed on 20 + 20 scenes):\n")  # fmt: skip
    print(table(emo, rows, PICTURE_COLUMNS))
    for name, r in results.items():
        if r.get("error"):
            print(f"\n{name}: FAILED at {r.get('error_stage')}: {r['error']}")
        for k in ("fer2013", "scenes"):
            if isinstance(r.get(k), dict) and "unsupported" in r[k]:
                print(f"\n{name}: {r[k]['unsupported']}")
    print("\n" + "\n".join(f"{p.name}: {p.note}" for p in PEERS if p.name in results))
    for name, r in results.items():
        v = r.get("versions")
        if v:
            print(f"{name} versions: " + ", ".join(f"{k} {x}" for k, x in v.items()))
    print("emoscope versions: " + ", ".join(f"{k} {x}" for k, x in emo.get("versions", {}).items()))
    if a.json:
        Path(a.json).write_text(
            json.dumps({"meta": meta, "emoscope": emo, "peers": results}, indent=1, default=str)
        )


if __name__ == "__main__":
    main()
