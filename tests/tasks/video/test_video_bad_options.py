"""Bad ``video`` / ``predict`` options are refused by argparse or before any work, in one error line."""

from __future__ import annotations

import pytest

from emoscope.cli import main


@pytest.mark.parametrize(
    "args, words",
    [
        (["x.mp4", "--smooth", "nan"], "argument --smooth: must be a finite number"),
        (["x.mp4", "--smooth", "inf"], "argument --smooth: must be a finite number"),
        (["x.mp4", "--smooth", "-1"], "argument --smooth"),
        (["--camera", "-1"], "argument --camera: must be >= 0, got -1"),
        (["x.mp4", "--threads", "100000"], "argument --threads: must be between 0 and 256"),
        (["x.mp4", "--threads", "-1"], "argument --threads: must be between 0 and 256"),
    ],
)
def test_video_options_refused_by_argparse(args, words, capsys):
    with pytest.raises(SystemExit) as info:
        main(["video", *args])
    assert info.value.code == 2
    assert words in capsys.readouterr().err


@pytest.mark.parametrize("threads", ["100000", "-1", "many"])
def test_predict_threads_refused_by_argparse(threads, capsys):
    with pytest.raises(SystemExit) as info:
        main(["predict", "x.jpg", "--threads", threads])
    assert info.value.code == 2
    assert "argument --threads" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["plot.jpg", "plot", "plot.PNG.txt"])
def test_plot_must_be_a_png(tmp_path, capsys, name):
    video = tmp_path / "v.avi"  # never opened: the option is checked first
    video.write_bytes(b"x")
    assert main(["video", str(video), "--plot", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--plot {tmp_path / name}: the timeline plot is a PNG image" in err[0]
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_special_files_are_refused(tmp_path, capsys, special):
    import os

    kind = "a device"
    if special == "fifo":
        special, kind = str(tmp_path / "f.mp4"), "a FIFO (named pipe)"
        os.mkfifo(special)
    assert main(["video", special, "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{special}: is {kind}, not a regular file" in err[0]
