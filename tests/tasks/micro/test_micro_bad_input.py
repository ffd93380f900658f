"""Bad input to the micro-expression commands and API: clear errors naming the file or option (exit 2), a truncated
video reported like ``emoscope video`` does (warning, exit 1), inputs of ``train micro`` / ``evaluate micro``
checked before any training, and the model written as a matching .onnx / .json pair or not at all."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from synthetic import micro_clip

from emoscope.cli import main
from emoscope.errors import InputError
from emoscope.outputs.demo import schematic_face
from emoscope.tasks.micro.predictor import MicroRecognizer, check_onset_apex
from emoscope.tasks.micro.spotting import SpotResult, SpottedInterval, min_frames, spot
from emoscope.tasks.video.synthetic import write_clip


def _crop(mood: str) -> np.ndarray:
    return cv2.resize(schematic_face(mood), (128, 128))


def _folder(path: Path, moods: list[str]) -> Path:
    path.mkdir()
    for i, mood in enumerate(moods):
        cv2.imwrite(str(path / f"img{i}.png"), _crop(mood))
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    return {
        "one": _folder(d / "one", ["neutral"]),
        "six": _folder(d / "six", ["neutral", "neutral", "surprise", "smile", "neutral", "smile"]),
        "still": _folder(d / "still", ["neutral"] * 3),
    }


@pytest.fixture(scope="module")
def cut_video(tmp_path_factory) -> Path:
    """A video of aligned face crops cut in half: it announces 40 frames, about 20 decode."""
    d = tmp_path_factory.mktemp("video")
    frames = [_crop(["neutral", "smile"][(i // 8) % 2]) for i in range(40)]
    data = write_clip(d / "whole.avi", frames, fps=25).read_bytes()
    (d / "cut.avi").write_bytes(data[: len(data) // 2])
    return d / "cut.avi"


# ------------------------------------------------------------------------------------------ emoscope micro CLIP
@pytest.mark.parametrize(
    ("clip", "args", "problem"),
    [
        ("one", [], "a clip needs at least 2 frames (onset and apex), it has 1"),
        ("six", ["--onset", "50"], "onset frame 50 is outside the clip (frames 0-5)"),
        ("six", ["--onset", "-1"], "onset frame -1 is outside the clip"),
        ("six", ["--onset", "5"], "onset frame 5 is the last frame"),
        ("six", ["--apex", "99"], "apex frame 99 is outside the clip (frames 0-5)"),
        ("six", ["--apex", "-3"], "apex frame -3 is outside the clip"),
        ("six", ["--apex", "0"], "apex frame 0 must differ from the onset frame 0"),
        ("six", ["--onset", "5", "--apex", "2"], "apex frame 2 comes before the onset frame 5"),
        ("still", [], "no frame after the onset frame 0 differs from it"),
    ],
)
def test_micro_clip_bad_onset_or_apex_is_a_clear_error(clips, capsys, clip, args, problem) -> None:
    assert main(["micro", str(clips[clip]), "--aligned", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("emoscope: error: ") and f"{clips[clip]}: {problem}" in err
    assert "Traceback" not in err


def test_micro_pair_refuses_clip_options(clips, capsys) -> None:
    a, b = sorted(clips["six"].iterdir())[:2]
    assert main(["micro", str(a), str(b), "--apex", "3"]) == 2
    assert "--onset / --apex" in capsys.readouterr().err


def test_check_onset_apex_and_estimated_apex_after_the_onset(clips) -> None:
    check_onset_apex(6, 1, None)
    check_onset_apex(6, 1, 4)
    with pytest.raises(InputError, match="my.mp4: apex frame 0 comes before the onset frame 1"):
        check_onset_apex(6, 1, 0, "my.mp4")
    # a still clip with the onset after frame 0 used to "estimate" frame 0, before the onset
    rec = MicroRecognizer()
    still = [_crop("neutral")] * 3
    with pytest.raises(InputError, match="no frame after the onset frame 1 differs"):
        rec.analyze_frames(still, onset=1, aligned=True)
    res = rec.analyze_frames(
        [_crop(m) for m in ("smile", "neutral", "neutral", "surprise")], onset=1, aligned=True
    )
    assert res.apex_estimated and res.apex_frame == 3 and res.motion_scores[0] == 0.0


def test_bad_micro_model_is_a_clear_error(clips, tmp_path: Path, capsys) -> None:
    from emoscope.tasks.expression.predictor import DEFAULT_MODEL

    assert main(["micro", str(clips["six"]), "--aligned", "--model", str(DEFAULT_MODEL)]) == 2
    assert "not a micro-expression model" in capsys.readouterr().err
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx graph")
    bad.with_suffix(".json").write_text('{"task": "micro", "classes": ["a", "b", "c"]}')
    with pytest.raises(InputError, match="bad.onnx: cannot be loaded as an ONNX model"):
        MicroRecognizer(bad)
    bad.with_suffix(".json").write_text("{broken")
    assert main(["micro", str(clips["six"]), "--aligned", "--model", str(bad)]) == 2
    assert "bad.json: model metadata cannot be read as JSON" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------- truncated videos
def test_truncated_video_micro_warns_and_exits_1(cut_video: Path, capsys) -> None:
    assert main(["micro", str(cut_video), "--aligned"]) == 1
    cap = capsys.readouterr()
    assert "emoscope: warning: " in cap.err and "cut.avi" in cap.err and "truncated" in cap.err
    assert "of the 40 frames" in cap.err and "cut.avi:" in cap.out  # the partial result is still printed
    assert main(["micro", str(cut_video), "--aligned", "--json"]) == 1
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(d["problems"]) == 1 and "cut.avi" in d["problems"][0] and d["n_frames"] < 40


def test_truncated_video_spot_warns_and_exits_1(cut_video: Path, capsys) -> None:
    assert main(["spot", str(cut_video), "--aligned", "--no-classify", "--json"]) == 1
    cap = capsys.readouterr()
    assert "emoscope: warning: " in cap.err and "cut.avi" in cap.err and "truncated" in cap.err
    d = json.loads(cap.out.strip().splitlines()[-1])
    assert d["n_frames"] < 40 and "of the 40 frames" in d["problems"][0]


def test_whole_video_has_no_problems(cut_video: Path, capsys) -> None:
    whole = cut_video.with_name("whole.avi")
    assert main(["spot", str(whole), "--aligned", "--no-classify", "--json"]) == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out.strip().splitlines()[-1])["problems"] == [] and "warning" not in cap.err


# ---------------------------------------------------------------------------------------------- emoscope spot
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fps", "-5"], "argument --fps: must be > 0"),
        (["--fps", "0"], "argument --fps: must be > 0"),
        (["--fps", "nan"], "argument --fps: must be a finite number"),
        (["--fps", "25", "--threshold", "-1"], "argument --threshold: must be >= 0"),
        (["--max-frames", "0"], "argument --max-frames: must be >= 1"),
    ],
)
def test_spot_refuses_bad_values(clips, capsys, args, message) -> None:
    with pytest.raises(SystemExit) as e:
        main(["spot", str(clips["six"]), "--aligned", "--no-classify", *args])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_spot_refuses_clips_too_short(clips, capsys) -> None:
    assert min_frames(25.0) == 5 and min_frames(100.0) == 21
    assert main(["spot", str(clips["one"]), "--aligned", "--no-classify", "--fps", "25"]) == 2
    err = capsys.readouterr().err
    assert (
        f"{clips['one']}: 1 frame(s) is too short to spot movements in" in err and "at least 5 frames" in err
    )


# ------------------------------------------------------------------------------------------ SpotResult outputs
def test_spot_result_to_json_and_dataframe() -> None:
    iv = SpottedInterval(3, 6, 9, 0.03, 0.06, 0.09, 0.8123456, "micro", "positive",
                         {"negative": 0.1, "positive": 0.7, "surprise": 0.2})  # fmt: skip
    macro = SpottedInterval(20, 30, 80, 0.2, 0.3, 0.8, 0.5, "macro")
    res = SpotResult([iv, macro], np.array([np.nan, 0.1, 0.25, np.nan]), 0.3, 100.0, 10)
    d = json.loads(res.to_json())
    assert d == res.to_dict() and d["signal"] == [None, 0.1, 0.25, None]
    assert [i["kind"] for i in d["intervals"]] == ["micro", "macro"] and d["intervals"][0]["score"] == 0.8123
    df = res.to_dataframe()
    assert len(df) == 2 and list(df["onset"]) == [3, 20] and df.loc[0, "p_positive"] == 0.7
    assert df.loc[0, "label"] == "positive" and np.isnan(df.loc[1, "p_positive"])
    # a clip too short to spot in: no interval, an infinite threshold, still valid JSON and an empty table
    short = spot(micro_clip(3, []), fps=100.0)
    assert json.loads(short.to_json())["threshold"] is None
    empty = short.to_dataframe()
    assert len(empty) == 0 and "onset" in empty.columns


# ------------------------------------------------------------------------------- train micro / evaluate micro
@pytest.fixture
def no_training(monkeypatch):
    """Any training fails the test: the bad inputs must be refused before it."""
    pytest.importorskip("torch")
    import emoscope.tasks.micro.export as export
    import emoscope.tasks.micro.loso as loso

    def fail(*a, **k):
        raise AssertionError("trained before checking the inputs")

    for mod, name in (
        (export, "train_model"),
        (loso, "train_model"),
        (loso, "run_loso"),
        (loso, "select_recipe"),
    ):
        monkeypatch.setattr(mod, name, fail)


def _old_pair(tmp_path: Path) -> Path:
    out = tmp_path / "m.onnx"
    out.write_bytes(b"old weights")
    out.with_suffix(".json").write_text('{"old": true}')
    return out


def _unchanged(out: Path) -> bool:
    return out.read_bytes() == b"old weights" and out.with_suffix(".json").read_text() == '{"old": true}'


def test_train_micro_checks_every_input_before_training(
    megc: Path, tmp_path: Path, capsys, no_training
) -> None:
    out = _old_pair(tmp_path)
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    (tmp_path / "nan.csv").write_text(
        "name,seed,true,p_negative,p_positive,p_surprise\ns1,0,negative,x,0.2,0.3\n"
    )
    (tmp_path / "lab.csv").write_text(
        "name,seed,true,p_negative,p_positive,p_surprise\ns1,0,happy,0.5,0.2,0.3\n"
    )
    (tmp_path / "bad.json").write_text('some text\n{"model": oops\n')
    (tmp_path / "nojson.txt").write_text("no json here\n")
    (tmp_path / "other.json").write_text('{"model": "micro_attn", "uf1": 0.5, "uar": 0.6}\n')
    cases = [
        (["--calibrate-from", str(tmp_path / "bad.csv")], "bad.csv: not a predictions CSV"),
        (
            ["--calibrate-from", str(tmp_path / "nan.csv")],
            "nan.csv: row 2: p_negative, p_positive, p_surprise must",
        ),
        (["--calibrate-from", str(tmp_path / "lab.csv")], "lab.csv: row 2: true label 'happy' is not one of"),
        (["--calibrate-from", str(tmp_path / "none.csv")], "none.csv: cannot read the LOSO predictions"),
        (["--loso-json", str(tmp_path / "bad.json")], "bad.json: its last JSON line is not valid JSON"),
        (["--loso-json", str(tmp_path / "nojson.txt")], "nojson.txt: no JSON line"),
        (["--loso-json", str(tmp_path / "none.json")], "none.json: cannot be read"),
        (["--loso-json", str(tmp_path / "other.json")], "is of micro_attn, not of micro_attn_plain"),
        (["--select-recipe", "default,nope"], "unknown recipe(s) ['nope']"),
        (
            ["--recipe", "warp", "--select-recipe", "default,warp"],
            "give --recipe or --select-recipe, not both",
        ),
        (["--model", "micro_nope"], "unknown micro-expression model 'micro_nope'"),
    ]
    for args, message in cases:
        rc = main(
            ["train", "micro", "--data", str(megc), "--out", str(out), "--model", "micro_attn_plain", *args]
        )
        err = capsys.readouterr().err
        assert rc == 2 and message in err, (args, err)
        assert _unchanged(out)
    assert main(["train", "micro", "--data", str(megc), "--out", str(tmp_path / "m.json")]) == 2
    assert "must end in .onnx" in capsys.readouterr().err
    for bad in ("a,b", "1,1"):
        with pytest.raises(SystemExit) as e:
            main(["train", "micro", "--data", str(megc), "--out", str(out), "--seeds", bad])
        assert e.value.code == 2 and "argument --seeds" in capsys.readouterr().err
    assert _unchanged(out)


def test_evaluate_micro_checks_its_arguments_before_the_loso_run(
    megc: Path, tmp_path: Path, capsys, no_training
):
    base = ["evaluate", "micro", "--dataset", "megc2019", "--data", str(megc)]
    assert main([*base, "--ensemble"]) == 2
    assert "--ensemble needs two or more --seeds" in capsys.readouterr().err
    assert main([*base, "--ensemble", "--seeds", "3"]) == 2
    assert main([*base, "--predictions", str(tmp_path / "no" / "p.csv")]) == 2
    assert "--predictions" in capsys.readouterr().err
    for args in (["--seeds", "a,b"], ["--jobs", "0"], ["--inner-folds", "1"], ["--epochs", "0"]):
        with pytest.raises(SystemExit) as e:
            main([*base, *args])
        assert e.value.code == 2 and f"argument {args[0]}" in capsys.readouterr().err


def test_export_writes_a_matching_pair_or_nothing(megc: Path, tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("torch")
    import emoscope.tasks.micro.export as export
    from emoscope.datasets import load_megc2019
    from emoscope.models import create_model

    # an untrained network: the files are what is tested, not the training
    monkeypatch.setattr(export, "train_model", lambda model, *a, **k: create_model(model).eval())
    data = load_megc2019(megc)
    out = tmp_path / "m.onnx"
    meta = export.train_and_export(data, out, "micro_attn_plain")
    assert json.loads(out.with_suffix(".json").read_text())["onnx_sha256"] == meta["onnx_sha256"]
    assert hashlib.sha256(out.read_bytes()).hexdigest() == meta["onnx_sha256"]
    old = (out.read_bytes(), out.with_suffix(".json").read_text())

    def broken_export(net, path, opset=17):
        Path(path).write_bytes(b"half a graph")
        raise RuntimeError("disk full")

    monkeypatch.setattr(export, "export_micro_onnx", broken_export)
    with pytest.raises(RuntimeError, match="disk full"):
        export.train_and_export(data, out, "micro_attn_plain", seed=5)
    assert (out.read_bytes(), out.with_suffix(".json").read_text()) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.onnx"]  # no temporary file left
