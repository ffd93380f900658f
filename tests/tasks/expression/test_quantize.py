"""Int8 weights stored unsigned: the same values, and ONNX Runtime's fused integer kernels compute what the model
means on every CPU (signed int8 weights saturate on x86 CPUs without VNNI)."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from emoscope.tasks.expression.export import unsigned_int8_weights


def _dq_model(path, w: np.ndarray, zero_point: np.ndarray) -> None:
    """A graph that only dequantises a per-channel int8 weight tensor: output = (w - zp) * scale."""
    scale = np.linspace(0.01, 0.05, w.shape[0]).astype(np.float32)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(scale, "s"),
             numpy_helper.from_array(zero_point, "zp")]  # fmt: skip
    node = helper.make_node("DequantizeLinear", ["w", "s", "zp"], ["out"], axis=0)
    graph = helper.make_graph([node], "dq", [], [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
                              initializer=inits)  # fmt: skip
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def _run(path) -> np.ndarray:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {})[0]


def test_unsigned_weights_keep_every_dequantised_value(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, (4, 3, 3, 3)).astype(np.int8)
    w[0, 0, 0, 0], w[1, 0, 0, 0] = -128, 127  # the extremes survive the +128 shift
    path = tmp_path / "m.onnx"
    _dq_model(path, w, np.array([0, 0, 3, -5], np.int8))
    before = _run(path)
    assert unsigned_int8_weights(path) == 2  # the weights and their zero points
    m = onnx.load(str(path))
    assert {i.name: i.data_type for i in m.graph.initializer} == {"w": TensorProto.UINT8, "s": TensorProto.FLOAT,
                                                                   "zp": TensorProto.UINT8}  # fmt: skip
    np.testing.assert_array_equal(_run(path), before)
    assert unsigned_int8_weights(path) == 0  # nothing left to convert; the file is not rewritten


def test_a_model_without_quantised_weights_is_left_alone(tmp_path):
    path = tmp_path / "m.onnx"
    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph([node], "id", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])  # fmt: skip
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    data = path.read_bytes()
    assert unsigned_int8_weights(path) == 0
    assert path.read_bytes() == data


def test_unreadable_model_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="bad.onnx: not a readable ONNX model"):
        unsigned_int8_weights(bad)
    assert bad.read_bytes() == b"not a model"  # nothing half-written
