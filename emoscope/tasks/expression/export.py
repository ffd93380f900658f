"""Export a trained expression checkpoint to ONNX, calibrate it on the validation splits, write its metadata."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emoscope.datasets import FaceSet, load_fer2013, load_ferplus
from emoscope.errors import DatasetError, InputError
from emoscope.tasks.expression.calibration import fit_temperature, nll
from emoscope.tasks.expression.train import checkpoint_model, predict_logits, read_checkpoint


class _TupleOutputs(torch.nn.Module):
    def __init__(self, model: torch.nn.Module, heads: list[str]):
        super().__init__()
        self.model, self.heads = model, heads

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(x)
        return tuple(out[h] for h in self.heads)


class ExpressionEnsemble(torch.nn.Module):
    """Several expression networks with the same heads as one network: each head's logits are the members' mean.

    Same input and output as an ExpressionNet (``(N, 1, 48, 48)`` pixels -> ``{head: (N, K) logits}``), so it
    exports, quantises and serves as one ONNX graph; it costs the members' summed compute.
    """

    def __init__(self, members: Sequence[torch.nn.Module]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one network")
        heads = [dict(m.config.heads) for m in members]
        if any(h != heads[0] for h in heads[1:]):
            raise ValueError(f"ensemble members must have the same heads and classes, got {heads}")
        sizes = {m.config.input_size for m in members}
        if len(sizes) != 1:
            raise ValueError(f"ensemble members must have the same input size, got {sorted(sizes)}")
        self.members = torch.nn.ModuleList(members)
        self.config = members[0].config

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        outs = [m(x) for m in self.members]
        return {h: torch.stack([o[h] for o in outs]).mean(0) for h in self.config.heads}


def export_onnx(model: torch.nn.Module, path: str | Path, opset: int = 17) -> Path:
    """Write ``model`` (an ExpressionNet) to ONNX: input ``pixels`` ``(N, 1, 48, 48)``, one output per head."""
    heads = list(model.config.heads)
    size = model.config.input_size
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.onnx.export(
        _TupleOutputs(model.eval(), heads), torch.rand(2, 1, size, size) * 255, str(tmp),
        input_names=["pixels"], output_names=heads, opset_version=opset,
        dynamic_axes={"pixels": {0: "batch"}, **{h: {0: "batch"} for h in heads}}, dynamo=False,
    )  # fmt: skip
    os.replace(tmp, path)
    return path


def export_and_calibrate(
    checkpoint: str | Path | Sequence[str | Path],
    out: str | Path,
    fer2013: str | None = None,
    ferplus: str | None = None,
    default_head: str = "ferplus",
    int8: bool = False,
    tta: bool = False,
) -> dict[str, Any]:
    """Checkpoint -> ``out`` (.onnx) + ``out`` with .json: classes per head, temperatures fitted on each head's
    validation split (FER2013 PublicTest, FER+ Valid) *through the deployed inference path* (ONNX Runtime,
    int8 if requested, flip test-time augmentation if requested), validation figures, provenance.

    checkpoint: one ``best.pt``, or several: they are exported as one :class:`ExpressionEnsemble` graph (mean
    logits), calibrated and scored as one model.
    int8: quantise with :func:`quantize_int8`, its activation ranges fixed on 512 FER2013 *training* images.
    With ``ferplus`` data the compound-expression rule is fitted on FER+ Valid too (metadata key ``compound``, see
    :func:`emoscope.tasks.affect.compound.fit_compound_entry`). Returns the metadata.

    The checkpoints and data folders are read before anything is written; the files are built in a temporary
    folder beside ``out`` and moved into place only at the end (the .json last), so a failure leaves an earlier
    model at ``out`` as it was and no stray files. Bad inputs raise :class:`InputError` / :class:`DatasetError`.
    """
    paths = [Path(checkpoint)] if isinstance(checkpoint, str | Path) else [Path(c) for c in checkpoint]
    out = Path(out)
    # every input is checked before anything is written: a bad one never costs the model already at ``out``
    if not paths:
        raise InputError(out, "no checkpoint to export")
    if out.is_dir():
        raise InputError(out, "is a folder; the output must be an .onnx file path")
    from emoscope.outputs.files import check_model_pair_out

    check_model_pair_out(out, paths)
    if int8 and not fer2013:
        raise DatasetError("int8 quantisation needs FER2013 training images (--fer2013-data / fer2013=...)")
    cks = [read_checkpoint(c) for c in paths]
    nets = [checkpoint_model(ck, c) for ck, c in zip(cks, paths, strict=True)]
    try:
        model = nets[0] if len(nets) == 1 else ExpressionEnsemble(nets).eval()
    except ValueError as e:
        raise InputError(", ".join(map(str, paths)), str(e)) from e
    sources = {"fer2013": (fer2013, load_fer2013), "ferplus": (ferplus, load_ferplus)}
    vals = {h: loader(src, "val") for h, (src, loader) in sources.items() if src and h in model.config.heads}
    calibration = None
    if int8:
        train = load_fer2013(fer2013, "train")
        calibration = train.images[np.random.default_rng(0).permutation(len(train))[:512]]
    # built in a temporary folder beside ``out``; the .onnx, then the .json, are moved into place at the very end
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        meta = _export_calibrated(paths, cks, model, work / out.name, vals, ferplus if "ferplus" in vals else None,
                                  default_head, calibration, tta)  # fmt: skip
        os.replace(work / out.name, out)
        os.replace((work / out.name).with_suffix(".json"), out.with_suffix(".json"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return meta


def _export_calibrated(
    paths: list[Path],
    cks: list[dict[str, Any]],
    model: torch.nn.Module,
    out: Path,
    vals: dict[str, FaceSet],
    ferplus: str | None,
    default_head: str,
    calibration: np.ndarray | None,
    tta: bool,
) -> dict[str, Any]:
    """The work of :func:`export_and_calibrate` on checked inputs: writes ``out`` and its .json (and, with int8
    ``calibration`` images, the intermediate float model beside them)."""
    from emoscope.tasks.expression.predictor import ExpressionRecognizer

    ck = cks[0]
    fp32 = out.with_name(out.stem + ".fp32.onnx") if calibration is not None else out
    export_onnx(model, fp32)
    _check_onnx_matches(model, fp32)
    meta: dict[str, Any] = {
        "format": 1,
        "task": "expression",
        "model_name": ck["model_name"],
        "input": "pixels",
        "input_size": model.config.input_size,
        "input_description": "(N, 1, 48, 48) float32 grey pixel values 0..255 of an aligned face crop",
        "default_head": default_head
        if default_head in model.config.heads
        else next(iter(model.config.heads)),
        "heads": {h: {"classes": list(c), "temperature": 1.0} for h, c in model.config.heads.items()},
        "tta": tta,
        "trained_epoch": ck["epoch"],
        "train_config": ck["config"],
    }
    if len(cks) > 1:
        meta["model_name"] = "ensemble(" + ", ".join(c["model_name"] for c in cks) + ")"
        meta["members"] = [{"checkpoint": str(p), "model_name": c["model_name"], "trained_epoch": c["epoch"],
                            "train_config": c["config"]} for p, c in zip(paths, cks, strict=True)]  # fmt: skip
        for k in ("trained_epoch", "train_config"):
            meta.pop(k)
    _write_meta(meta, fp32)
    if calibration is not None:
        quantize_int8(fp32, out, calibration)
        fp32.unlink()
        fp32.with_suffix(".json").unlink()
        meta["quantized"] = QUANTIZED + ", activation ranges from 512 FER2013 training images"
    for h, val in vals.items():
        entry = meta["heads"][h]
        keep = val.labels >= 0
        y = val.labels[keep]
        logits = ExpressionRecognizer(out, head=h, calibrated=False, tta=tta).logits(val.images[keep])
        t = fit_temperature(logits, y)
        entry.update(temperature=round(t, 4), calibrated_on=f"{val.name} (n={int(keep.sum())})",
                     val_accuracy=float((logits.argmax(1) == y).mean()),
                     val_nll_before=nll(logits, y, 1.0), val_nll_after=nll(logits, y, t))  # fmt: skip
    if ferplus:
        from emoscope.tasks.affect.compound import fit_compound_entry

        _write_meta(meta, out)  # the temperatures, which the compound rule's validation report uses
        try:
            meta["compound"] = fit_compound_entry(out, ferplus, tta=tta)
        except ValueError as e:  # e.g. a validation split without compound examples: export without the rule
            import warnings

            warnings.warn(f"compound rule not fitted: {e}", stacklevel=3)
    _write_meta(meta, out)
    return meta


def _check_onnx_matches(model: torch.nn.Module, path: Path) -> None:
    """The ONNX graph must compute what PyTorch computes."""
    import onnxruntime as ort

    x = (torch.rand(8, 48, 48) * 255).to(torch.uint8).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ref = predict_logits(model, x, torch.device("cpu"))
    got = sess.run(None, {"pixels": x[:, None].astype(np.float32)})
    for h, g in zip(model.config.heads, got, strict=True):
        err = float(np.abs(ref[h] - g).max())
        if err > 1e-3:
            raise RuntimeError(f"ONNX export of head {h} differs from PyTorch by {err}")


def _write_meta(meta: dict[str, Any], onnx_path: Path) -> None:
    meta.update(
        onnx_sha256=hashlib.sha256(onnx_path.read_bytes()).hexdigest(), onnx_bytes=onnx_path.stat().st_size
    )
    path = onnx_path.with_suffix(".json")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, path)


QUANTIZED = (
    "int8 static QDQ (per-channel weights stored as uint8, zero point 128: no saturation on any x86 CPU)"
)


def quantize_int8(fp32_model: str | Path, out: str | Path, calibration_images: np.ndarray) -> Path:
    """Static int8 quantisation (QDQ, per-channel weights) of an exported model with ONNX Runtime.

    calibration_images: ``(N, 48, 48)`` uint8 faces from the *training* split (a few hundred) used to fix the
    activation ranges. The metadata ``.json`` of ``fp32_model`` is copied beside ``out`` (with the int8 file's
    size and hash); accuracy must be re-measured with ``emoscope evaluate``. The weights are stored unsigned
    (:func:`unsigned_int8_weights`).
    """
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            x = calibration_images.astype(np.float32)[:, None]
            self._it = iter([{"pixels": x[i : i + 32]} for i in range(0, len(x), 32)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    fp32_model, out = Path(fp32_model), Path(out)
    pre = out.with_name(out.stem + ".pre.onnx")
    tmp = out.with_name(out.name + ".tmp")
    quant_pre_process(str(fp32_model), str(pre))
    quantize_static(str(pre), str(tmp), _Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)  # fmt: skip
    pre.unlink(missing_ok=True)
    unsigned_int8_weights(tmp)
    os.replace(tmp, out)
    meta = json.loads(fp32_model.with_suffix(".json").read_text())
    meta["quantized"] = QUANTIZED
    _write_meta(meta, out)
    return out


def unsigned_int8_weights(path: str | Path) -> int:
    """Store the signed int8 weights of a QDQ model as uint8 with their zero points moved by +128, in place.

    The dequantised values ``(q - zero_point) * scale`` are unchanged, bit for bit, so the model means the same.
    Why: ONNX Runtime's x86 kernels multiply uint8 activations by int8 weights with AVX2 ``vpmaddubsw``, whose
    16-bit pair sums saturate on CPUs without VNNI; the same file then gives other logits on other CPUs (on an
    AVX2-only AMD EPYC the shipped model changed the class of 1.3 % of FER+ faces: FER+ test 0.865 instead of
    0.868). With uint8 weights ONNX Runtime uses its uint8 x uint8 kernels, which widen to 16 bits first and do
    not saturate.
    Written atomically (temporary file + rename). Returns the number of tensors converted (0: nothing to do).
    """
    import onnx
    from onnx import numpy_helper

    path = Path(path)
    try:
        model = onnx.load(str(path))
    except Exception as e:  # protobuf's DecodeError, OSError ...: name the file
        raise ValueError(f"{path}: not a readable ONNX model ({type(e).__name__}: {e})") from e
    weights = set()
    for node in model.graph.node:  # the quantised tensor and its zero point of every DequantizeLinear
        if node.op_type == "DequantizeLinear":
            weights.update(node.input[i] for i in (0, 2) if i < len(node.input))
    n = 0
    for init in model.graph.initializer:
        if init.name in weights and init.data_type == onnx.TensorProto.INT8:
            q = numpy_helper.to_array(init).astype(np.int16) + 128
            init.CopyFrom(numpy_helper.from_array(q.astype(np.uint8), init.name))
            n += 1
    if n:
        tmp = path.with_name(path.name + ".unsigned.tmp")
        onnx.save(model, str(tmp))
        os.replace(tmp, path)
    return n
