"""``emoscope video`` with bad output paths and options: one clear error, before the video is analysed; an output
that fails after the analysis loses none of the others."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from emoscope.cli import main
from emoscope.outputs.demo import schematic_face
from emoscope.tasks.video.analyze import VideoAnalyzer
from emoscope.tasks.video.results import VideoResult
from emoscope.tasks.video.synthetic import MovingFace, render_clip, write_clip

pytest.importorskip("dlib")

needs_proc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not Path("/proc/self").exists(), reason="needs Linux /proc"
)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    faces = [MovingFace(schematic_face("smile"), [(0, 150, 220, 150), (0.4, 200, 220, 150)])]
    frames = render_clip(faces, [i / 25 for i in range(10)], seed=2)[0]
    return write_clip(tmp_path_factory.mktemp("clip") / "good.avi", frames, 25.0)


@pytest.fixture
def no_analysis(monkeypatch):
    """Fail the test if the video is analysed: bad outputs must be reported before."""

    def analyze(self, *a, **k):
        raise AssertionError("the video was analysed before the outputs were checked")

    monkeypatch.setattr(VideoAnalyzer, "analyze", analyze)


def _run(capsys, *argv) -> tuple[int, str]:
    rc = main(["video", *map(str, argv), "--quiet"])
    return rc, capsys.readouterr().err


def test_csv_into_a_folder_is_refused_before_the_analysis(clip, tmp_path, capsys, no_analysis):
    (tmp_path / "outdir.csv").mkdir()
    rc, err = _run(capsys, clip, "--csv", tmp_path / "outdir.csv")
    assert rc == 2 and "Traceback" not in err
    assert f"emoscope: error: {tmp_path / 'outdir.csv'}: is a folder" in err


def test_csv_below_a_file_is_refused(clip, tmp_path, capsys, no_analysis):
    (tmp_path / "good.jpg").write_bytes(b"x")
    rc, err = _run(capsys, clip, "--csv", tmp_path / "good.jpg" / "x.csv")
    assert rc == 2 and f"{tmp_path / 'good.jpg' / 'x.csv'}: cannot create the folder" in err


@needs_proc
@pytest.mark.parametrize("opt, target", [("--out", "/proc/nope.avi"), ("--plot", "/proc/nope.png")])
def test_unwritable_folder_names_the_target_not_a_temporary_file(clip, capsys, no_analysis, opt, target):
    rc, err = _run(capsys, clip, opt, target)
    assert rc == 2 and f"emoscope: error: {target}: cannot write" in err and ".tmp" not in err


def test_two_outputs_with_the_same_path_are_refused(clip, tmp_path, capsys, no_analysis):
    same = tmp_path / "same.avi"
    rc, err = _run(capsys, clip, "--out", same, "--csv", same)
    assert rc == 2 and "--out" in err and "--csv" in err and str(same) in err
    assert not same.exists()


@pytest.mark.parametrize("value", ["-1", "0"])
def test_max_frames_must_be_positive(clip, capsys, value):
    with pytest.raises(SystemExit) as info:
        main(["video", str(clip), "--max-frames", value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--max-frames" in err and ">= 1" in err and "no decodable frame" not in err


def test_an_output_failing_after_the_analysis_keeps_the_others(clip, tmp_path, capsys, monkeypatch):
    def full_disk(self, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(VideoResult, "to_csv", full_disk)
    csv, png = tmp_path / "t.csv", tmp_path / "t.png"
    rc = main(["video", str(clip), "--csv", str(csv), "--plot", str(png), "--quiet"])
    cap = capsys.readouterr()
    assert rc == 2
    assert f"emoscope: error: {csv}: No space left on device" in cap.err
    assert png.stat().st_size > 1000 and f"wrote {png}" in cap.out


def test_bad_model_and_head_are_clear_errors(clip, tmp_path, capsys, no_analysis):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"junk")
    (tmp_path / "bad.json").write_text('{"heads": {"ferplus": {"classes": ["a", "b"]}}}')
    rc, err = _run(capsys, clip, "--model", bad)
    assert rc == 2 and f"{bad}: not a readable ONNX model" in err
    rc, err = _run(capsys, clip, "--head", "nonsense")
    assert rc == 2 and "no head 'nonsense'" in err and "Traceback" not in err
