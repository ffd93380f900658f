"""Batch jobs in this process: inputs listed, rows and manifest, resuming after Ctrl-C, changed inputs, retries,
the other output format, the CLI."""

from __future__ import annotations

import json

import cv2
import pandas as pd
import pytest
from batch_collection import BAD, FMT, GOOD, photo

from emoscope.cli import main
from emoscope.errors import EmoscopeError
from emoscope.tasks.batch import BatchSettings, collect_inputs, read_manifest, read_results, run_batch
from emoscope.tasks.batch.manifest import Manifest


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True)


def test_collect_inputs_folder_and_list(collection, tmp_path):
    walk = collect_inputs(collection)
    keys = [it.key for it in walk.items]
    assert keys == sorted(GOOD + list(BAD))  # sorted, recursive; notes.txt and the hidden file left out
    assert walk.skipped == 2
    assert {it.key: it.kind for it in walk.items}["clip.avi"] == "video"
    lst = tmp_path / "list.txt"
    lst.write_text(
        f"# photos\nimg3.png\n\n./img3.png\n{collection / 'a'}\nnotes.txt\nmissing.png\nclip.avi\n"
    )
    (tmp_path / "img3.png").write_bytes((collection / "img3.png").read_bytes())
    (tmp_path / "notes.txt").write_text("x")
    walk = collect_inputs(lst)
    assert [it.key for it in walk.items] == ["img3.png", f"{collection / 'a'}/img0.png", f"{collection / 'a'}/img2.png",
                                             "notes.txt", "missing.png", "clip.avi"]  # fmt: skip
    assert walk.items[-2].size is None and walk.items[-1].kind == "video"
    with pytest.raises(EmoscopeError, match="no such"):
        collect_inputs(tmp_path / "nothing_here")


def test_single_worker_rows_and_manifest(reference, collection):
    df, out = reference
    # rows in input order: one per face per image / frame; an image without a face gives one empty row
    assert list(dict.fromkeys(df["source"])) == sorted(GOOD)
    per = df.groupby("source", sort=False).size().to_dict()
    assert per == {"a/img0.png": 1, "a/img2.png": 1, "b/sub/img1.jpg": 1, "clip.avi": 10, "img3.png": 1,
                   "noface.jpg": 1, "two_faces.png": 2}  # fmt: skip
    assert df.loc[df.source == "noface.jpg", "face"].isna().all()
    two = df[df.source == "two_faces.png"]
    assert list(two["face"]) == [0, 1] and two["x"].iloc[0] < two["x"].iloc[1]
    clip = df[df.source == "clip.avi"]
    assert (
        list(clip["frame"]) == list(range(10))
        and (clip["kind"] == "video").all()
        and clip["face"].eq(0).all()
    )
    assert clip["time"].is_monotonic_increasing and clip["raw_p_surprise"].notna().all()
    img = df[df.kind == "image"]
    assert img["frame"].isna().all() and img["raw_label"].isna().all()
    probs = df[[c for c in df.columns if c.startswith("p_")]].dropna()
    assert ((probs.sum(axis=1) - 1).abs() < 1e-4).all()
    faces = df[df.face.notna()]
    top = faces[[c for c in df.columns if c.startswith("p_")]].idxmax(axis=1).str[2:]
    assert (top == faces["label"]).all()
    # every input is recorded once, errors with their message
    recs = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert sorted(r["key"] for r in recs) == sorted(GOOD + list(BAD))
    by_key = {r["key"]: r for r in recs}
    for key, words in BAD.items():
        assert by_key[key]["status"] == "error" and words in by_key[key]["error"], by_key[key]
        assert by_key[key]["rows"] == 0 and by_key[key]["part"] is None
    for key in GOOD:
        assert (
            by_key[key]["status"] == "ok" and by_key[key]["rows"] == per[key] and by_key[key]["seconds"] > 0
        )
    assert {r["loads"] for r in recs} == {1}  # the models were loaded once
    assert len(list((out / "parts").iterdir())) == len(GOOD)


def test_rerun_skips_finished_inputs(reference, collection):
    df, out = reference
    s = run_batch(collection, out, fmt=FMT)
    assert s.processed == 0 and s.skipped == s.total == len(GOOD) + len(BAD) and s.complete
    assert s.job_ok == len(GOOD) and s.job_errors == len(BAD)
    _same_rows(read_results(out), df)


def test_interrupted_run_resumes_with_the_same_rows(reference, collection, tmp_path):
    df, _ = reference
    out = tmp_path / "res"
    seen = []

    def stop_after_four(outcome):
        seen.append(outcome.key)
        if len(seen) == 4:
            raise KeyboardInterrupt

    s = run_batch(collection, out, fmt="jsonl", progress=stop_after_four)
    assert s.interrupted and not s.complete and s.processed == 4
    assert not (out / "results.jsonl").exists()
    partial = read_results(out, partial=True)
    assert set(partial["source"]) == set(seen) & set(GOOD)
    with pytest.raises(EmoscopeError, match="not written yet"):
        read_results(out)
    s2 = run_batch(collection, out, fmt="jsonl")
    assert s2.complete and s2.skipped == 4 and s2.processed == len(GOOD) + len(BAD) - 4
    text = (out / "results.jsonl").read_text().splitlines()
    assert len(text) == len(df) and json.loads(text[0])["source"] == "a/img0.png"
    _same_rows(read_results(out), df)  # JSON Lines give exactly the rows of the reference (Parquet)
    lines = (out / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == len(GOOD) + len(BAD)  # nothing recorded twice


def test_changed_inputs_are_redone_and_errors_retried_on_request(collection, tmp_path):
    for name in ("img3.png", "zero.png", "fake.jpg", "a/img0.png"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes((collection / name).read_bytes())
    lst = tmp_path / "list.txt"
    lst.write_text("img3.png\nzero.png\nfake.jpg\na/img0.png\n")
    out = tmp_path / "res"
    run_batch(lst, out, fmt="jsonl")
    before = read_results(out)
    assert cv2.imwrite(str(tmp_path / "img3.png"), photo(["smile", "frown"], 140))  # now two faces
    s = run_batch(lst, out, fmt="jsonl")
    assert s.processed == 1 and s.skipped == 3
    after = read_results(out)
    assert (after.source == "img3.png").sum() == 2 and (before.source == "img3.png").sum() == 1
    assert list(after.source) == ["img3.png", "img3.png", "a/img0.png"]  # the list's order
    _same_rows(after[after.source == "a/img0.png"], before[before.source == "a/img0.png"])
    assert cv2.imwrite(
        str(tmp_path / "zero.png"), photo(["surprise"], 100)
    )  # the empty file is a photo now...
    assert run_batch(lst, out, fmt="jsonl").processed == 1  # ...and it changed, so it is redone
    assert run_batch(lst, out, fmt="jsonl").processed == 0  # errors are finished outcomes...
    s = run_batch(lst, out, fmt="jsonl", retry_errors=True)  # ...unless asked
    assert s.processed == 1 and [k for k, _ in s.error_list] == ["fake.jpg"]
    final = read_results(out)
    assert list(dict.fromkeys(final.source)) == ["img3.png", "zero.png", "a/img0.png"]
    assert not final.duplicated(["source", "face"]).any() and len(final) == 4
    assert len(read_manifest(out)) == 4 and len((out / "manifest.jsonl").read_text().splitlines()) == 7


def test_another_job_in_the_same_folder_is_refused(reference, collection):
    _, out = reference
    with pytest.raises(EmoscopeError, match="every"):
        run_batch(collection, out, fmt=FMT, settings=BatchSettings(every=2))
    if FMT == "parquet":
        with pytest.raises(EmoscopeError, match="format"):
            run_batch(collection, out, fmt="jsonl")


def test_torn_manifest_line_is_cut_and_its_input_redone(reference, collection, tmp_path):
    import shutil

    df, ref_out = reference
    out = tmp_path / "res"
    shutil.copytree(ref_out, out)
    (out / f"results.{FMT}").unlink()
    lines = (out / "manifest.jsonl").read_text().splitlines(keepends=True)
    torn = json.loads(lines[-1])["key"]
    (out / "manifest.jsonl").write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    assert torn not in Manifest(out / "manifest.jsonl").load()
    s = run_batch(collection, out, fmt=FMT)
    assert s.processed == 1 and s.complete
    _same_rows(read_results(out), df)


def test_frame_step_and_max_frames(collection, tmp_path):
    lst = tmp_path / "videos.txt"
    lst.write_text(f"{collection / 'clip.avi'}\n")
    s = run_batch(
        lst, tmp_path / "res", fmt="jsonl", settings=BatchSettings(frame_step=3, every=1, max_frames=3)
    )
    assert s.ok == 1
    df = read_results(tmp_path / "res")
    assert list(df["frame"]) == [0, 3, 6] and df["face"].notna().all()  # the video's own frame numbers
    assert df["time"].tolist() == pytest.approx([0.0, 0.15, 0.3])


def test_cli_batch(reference, collection, tmp_path, capsys):
    df, _ = reference
    lst = tmp_path / "list.txt"
    lst.write_text(f"{collection / 'two_faces.png'}\n{collection / 'zero.png'}\n")
    out = tmp_path / "res"
    assert main(["batch", str(lst), "--out", str(out), "--format", "jsonl", "--quiet", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (
        summary["complete"] and summary["ok"] == 1 and summary["errors"] == 1 and summary["total_rows"] == 2
    )
    rows = read_results(out)
    _same_rows(rows.drop(columns="source"), df[df.source == "two_faces.png"].drop(columns="source"))
    assert main(["batch", str(lst), "--out", str(out), "--format", "jsonl", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "2 finished before" in text and "2 rows" in text and "1 errors" in text
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{collection / 'zero.png'}\n{collection / 'fake.jpg'}\n")
    assert main(["batch", str(bad), "--out", str(tmp_path / "bad"), "--format", "jsonl", "--quiet"]) == 1
    assert main(["batch", str(lst), "--out", str(tmp_path / "x"), "--frame-step", "0"]) == 2
    assert main(["batch", str(lst), "--out", str(tmp_path / "x"), "--address", "auto"]) == 2
    assert main(["batch", str(lst), "--out", str(out), "--format", "parquet"]) == 2  # another job's folder


def test_final_parquet_has_row_groups_of_many_parts(reference, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")

    from emoscope.tasks.batch import load_job
    from emoscope.tasks.batch.store import final_parts, write_results

    df, out = reference
    assert pq.ParquetFile(out / "results.parquet").num_row_groups == 1  # 17 rows from 7 parts
    columns = dict(load_job(out)["columns"])
    parts = final_parts(collect_inputs(load_job(out)["source"]).items, read_manifest(out), out / "parts")
    assert len(parts) == len(GOOD)
    n = write_results(parts, tmp_path / "r.parquet", "parquet", columns, row_group=4)
    assert n == len(df) and pq.ParquetFile(tmp_path / "r.parquet").num_row_groups == 5  # (4, 4, 4, 1) + 4
    _same_rows(pd.read_parquet(tmp_path / "r.parquet"), df)
