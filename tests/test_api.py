"""The Python API: detect -> align -> classify on generated photos, typed results, bad input."""

import io
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from emoscope.api import Analyzer
from emoscope.errors import InputError
from emoscope.outputs.annotate import draw_results, save_image_atomic
from emoscope.outputs.demo import schematic_face
from emoscope.outputs.results import results_to_dataframe
from emoscope.tasks.expression.predictor import ExpressionRecognizer


@pytest.fixture(scope="module")
def analyzer(tiny_model):
    return Analyzer(ExpressionRecognizer(tiny_model, threads=1))


def _photo(faces=((40, 60), (360, 200))) -> np.ndarray:
    canvas = np.full((480, 640, 3), 190, np.uint8)
    for i, (x, y) in enumerate(faces):
        canvas[y : y + 192, x : x + 192] = schematic_face(("smile", "frown", "surprise")[i % 3])
    return canvas


def test_analyze_finds_every_face_with_boxes_and_distributions(analyzer):
    res = analyzer.analyze(_photo())
    assert res.ok and res.width == 640 and res.height == 480
    assert len(res.faces) == 2
    xs = sorted(f.box[0] for f in res.faces)
    assert abs(xs[0] - 40) < 40 and abs(xs[1] - 360) < 40
    for f in res.faces:
        assert set(f.probabilities) == set(analyzer.recognizer.classes)
        assert abs(sum(f.probabilities.values()) - 1) < 1e-5
        assert f.label == max(f.probabilities, key=f.probabilities.get)


def test_no_face_is_an_empty_list_not_an_error(analyzer):
    res = analyzer.analyze(np.full((300, 400, 3), 90, np.uint8))
    assert res.ok and res.faces == []


@pytest.mark.parametrize("mode", ["L", "RGBA", "I;16", "P"])
def test_colour_modes_are_accepted(analyzer, tmp_path, mode):
    rgb = Image.fromarray(cv2.cvtColor(_photo(((200, 140),)), cv2.COLOR_BGR2RGB))
    if mode == "I;16":
        img = Image.fromarray(np.asarray(rgb.convert("L")).astype(np.uint16) * 257)
    else:
        img = rgb.convert(mode)
    p = tmp_path / "x.png"
    img.save(p)
    assert len(analyzer.analyze(p).faces) == 1


def test_exif_orientation_is_honoured(analyzer, tmp_path):
    upright = cv2.cvtColor(_photo(((200, 140),)), cv2.COLOR_BGR2RGB)
    stored = np.ascontiguousarray(np.rot90(upright, 1))  # stored sideways, EXIF says "rotate 90 CW to view"
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp_path / "sideways.jpg"
    Image.fromarray(stored).save(p, exif=exif.tobytes(), quality=95)
    res = analyzer.analyze(p)
    assert (res.width, res.height) == (640, 480)
    assert len(res.faces) == 1


def test_bad_files_raise_input_error_naming_the_file(analyzer, tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello")
    buf = io.BytesIO()
    Image.fromarray(_photo()).save(buf, format="PNG")
    (tmp_path / "cut.png").write_bytes(buf.getvalue()[:2000])
    for name in ("empty.jpg", "text.png", "cut.png", "missing.png"):
        with pytest.raises(InputError, match=name):
            analyzer.analyze(tmp_path / name)


def test_huge_images_are_refused_before_decoding(tiny_model, tmp_path):
    p = tmp_path / "bomb.png"
    Image.new("1", (12000, 12000)).save(p)  # 144 Mpx, a few KB on disk
    with pytest.raises(InputError, match="too large"):
        Analyzer(ExpressionRecognizer(tiny_model)).analyze(p)


def test_results_convert_to_json_and_dataframe(analyzer):
    res = analyzer.analyze(_photo(), file="scene.png")
    d = json.loads(res.to_json())
    assert d["file"] == "scene.png" and len(d["faces"]) == 2
    assert set(d["faces"][0]) == {"box", "score", "label", "probabilities"}
    empty = analyzer.analyze(np.zeros((100, 100), np.uint8), file="dark.png")
    df = results_to_dataframe([res, empty])
    assert len(df) == 3 and list(df["file"]) == ["scene.png", "scene.png", "dark.png"]
    assert {"x", "y", "w", "h", "label", "p_happiness", "p_contempt"} <= set(df.columns)


def test_aligned_mode_uses_the_whole_image(analyzer):
    res = analyzer.analyze_aligned(schematic_face("smile", 96))
    assert [f.box for f in res.faces] == [(0, 0, 96, 96)]


def test_annotated_copy_is_written_whole(analyzer, tmp_path):
    img = _photo()
    res = analyzer.analyze(img)
    out = draw_results(img, res)
    assert out.shape == img.shape and (out != img).any()
    p = save_image_atomic(out, tmp_path / "a" / "ann.jpg")
    assert cv2.imread(str(p)).shape == img.shape
    assert [q.name for q in p.parent.iterdir()] == ["ann.jpg"]  # no temporary file left behind
