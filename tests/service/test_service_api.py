"""The HTTP service (FastAPI TestClient): images, micro pairs, video jobs, limits, bad input, restarts."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("python_multipart")

from fastapi.testclient import TestClient  # noqa: E402

from emoscope.api import Analyzer  # noqa: E402
from emoscope.cli import main  # noqa: E402
from emoscope.outputs.demo import schematic_face  # noqa: E402
from emoscope.service import ServiceSettings, create_app  # noqa: E402
from emoscope.service.jobs import INPUT_NAME, JobStore, new_job_id  # noqa: E402
from emoscope.service.uploads import display_name  # noqa: E402
from emoscope.tasks.expression.predictor import ExpressionRecognizer  # noqa: E402

FACES = ((40, 60), (380, 220))


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    """One analyzer (shipped model, one ONNX thread) shared by the apps of this module."""
    a = Analyzer(ExpressionRecognizer(threads=1))
    _ = a.detector
    return a


@pytest.fixture
def make_client(tmp_path: Path, analyzer: Analyzer) -> Iterator[Callable[..., TestClient]]:
    """``make_client(**settings)`` -> an entered TestClient of a new app on ``tmp_path / "data"``."""
    opened: list[TestClient] = []

    def make(**kw) -> TestClient:
        kw.setdefault("data_dir", tmp_path / "data")
        kw.setdefault("threads", 1)
        kw.setdefault("analyzer_factory", lambda: analyzer)
        client = TestClient(create_app(ServiceSettings(**kw)))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for c in opened:
        c.__exit__(None, None, None)


def photo(faces=FACES, moods=("smile", "frown", "surprise")) -> np.ndarray:
    canvas = np.full((480, 640, 3), 190, np.uint8)
    for i, (x, y) in enumerate(faces):
        canvas[y : y + 192, x : x + 192] = schematic_face(moods[i % len(moods)])
    return canvas


def encode(img: np.ndarray, ext: str = ".png") -> bytes:
    ok, buf = cv2.imencode(ext, img)
    assert ok
    return buf.tobytes()


def error_of(r) -> str:
    body = r.json()
    assert set(body) == {"error", "detail"} and body["detail"], body
    return body["error"]


# ------------------------------------------------------------------------------------------------ images
def test_analyze_gives_the_json_of_predict(make_client, tmp_path, capsys):
    c = make_client()
    data = encode(photo(), ".jpg")
    r = c.post("/v1/analyze", files={"image": ("group.jpg", data, "image/jpeg")})
    assert r.status_code == 200
    body = r.json()
    assert body["file"] == "group.jpg" and (body["width"], body["height"]) == (640, 480)
    assert len(body["faces"]) == 2
    xs = sorted(f["box"][0] for f in body["faces"])
    assert abs(xs[0] - FACES[0][0]) < 40 and abs(xs[1] - FACES[1][0]) < 40
    for f in body["faces"]:
        assert abs(sum(f["probabilities"].values()) - 1) < 1e-4
        assert f["label"] == max(f["probabilities"], key=f["probabilities"].get)
    # the same record as `emoscope predict --json` on the same file
    path = tmp_path / "group.jpg"
    path.write_bytes(data)
    assert main(["predict", str(path), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(cli) == set(body) and len(cli["faces"]) == len(body["faces"])
    for a, b in zip(
        sorted(cli["faces"], key=lambda f: f["box"]),
        sorted(body["faces"], key=lambda f: f["box"]),
        strict=True,
    ):
        assert set(a) == set(b) and a["box"] == b["box"] and a["label"] == b["label"]
        for k, v in a["probabilities"].items():
            assert abs(v - b["probabilities"][k]) < 1e-4


def test_aligned_crop_and_photo_without_faces(make_client):
    c = make_client()
    r = c.post(
        "/v1/analyze?aligned=true",
        files={"image": ("crop.png", encode(schematic_face("smile")), "image/png")},
    )
    assert r.status_code == 200
    faces = r.json()["faces"]
    assert len(faces) == 1 and faces[0]["box"] == [0, 0, 192, 192]
    r = c.post(
        "/v1/analyze",
        files={"image": ("wall.png", encode(np.full((240, 320, 3), 90, np.uint8)), "image/png")},
    )
    assert r.status_code == 200 and r.json()["faces"] == []


def test_content_is_checked_by_decoding_not_by_name(make_client):
    c = make_client()
    # a real PNG with a misleading name and media type is analysed
    r = c.post("/v1/analyze", files={"image": ("notes.txt", encode(photo()), "text/plain")})
    assert r.status_code == 200 and len(r.json()["faces"]) == 2
    # text named like a picture is refused
    r = c.post("/v1/analyze", files={"image": ("photo.jpg", b"hello, I am not a picture", "image/jpeg")})
    assert r.status_code == 422 and error_of(r) == "not_an_image"


def test_empty_truncated_and_non_image_uploads(make_client):
    c = make_client()
    r = c.post("/v1/analyze", files={"image": ("empty.jpg", b"", "image/jpeg")})
    assert r.status_code == 400 and error_of(r) == "empty_upload"
    cut = encode(photo(), ".png")[:3000]
    r = c.post("/v1/analyze", files={"image": ("cut.png", cut, "image/png")})
    assert r.status_code == 422 and error_of(r) == "corrupt_image"
    r = c.post(
        "/v1/analyze", files={"image": ("x.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" * 20, "application/pdf")}
    )
    assert r.status_code == 422 and error_of(r) == "not_an_image"


def test_too_many_pixels_is_refused_before_decoding(make_client):
    c = make_client()
    # a decompression bomb: 12000 x 12000 one-bit pixels (144 M, over the default 40 M) in a few kB of PNG
    buf = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buf, format="PNG")
    assert len(buf.getvalue()) < 100_000
    r = c.post("/v1/analyze", files={"image": ("bomb.png", buf.getvalue(), "image/png")})
    assert r.status_code == 413 and error_of(r) == "too_many_pixels"
    assert "144,000,000" in r.json()["detail"]
    # and the limit is a setting
    small = make_client(data_dir=c.app.state.emoscope.settings.data_dir.parent / "d2", max_pixels=100_000)
    r = small.post("/v1/analyze", files={"image": ("p.png", encode(photo()), "image/png")})
    assert r.status_code == 413 and error_of(r) == "too_many_pixels"


def test_oversized_upload_is_refused_early(make_client):
    c = make_client(max_upload_bytes=10_000)
    sent: list[int] = []

    def body() -> Iterator[bytes]:
        for i in range(50):
            sent.append(i)
            yield b"x" * 1000

    # the client announces 50 kB: refused before any of the body is read
    r = c.post(
        "/v1/analyze",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=xyz", "content-length": "50000"},
    )
    assert r.status_code == 413 and error_of(r) == "payload_too_large"
    assert sent == []
    # a chunked body (no size announced) is stopped when it passes the limit
    r = c.post("/v1/analyze", content=body(), headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert r.status_code == 413 and error_of(r) == "payload_too_large"
    # an ordinary upload over the limit
    r = c.post("/v1/analyze", files={"image": ("big.png", encode(photo()), "image/png")})
    assert r.status_code == 413 and error_of(r) == "payload_too_large"


def test_wrong_missing_duplicate_fields_and_not_multipart(make_client):
    c = make_client()
    png = encode(photo())
    r = c.post("/v1/analyze", files={"file": ("p.png", png, "image/png")})
    assert r.status_code == 400 and error_of(r) == "unexpected_field" and "'image'" in r.json()["detail"]
    r = c.post(
        "/v1/analyze", files=[("image", ("a.png", png, "image/png")), ("image", ("b.png", png, "image/png"))]
    )
    assert r.status_code == 400 and error_of(r) == "duplicate_field"
    r = c.post("/v1/micro", files={"onset": ("a.png", png, "image/png")})
    assert r.status_code == 400 and error_of(r) == "missing_field" and "'apex'" in r.json()["detail"]
    r = c.post("/v1/analyze", content=png, headers={"content-type": "image/png"})
    assert r.status_code == 415 and error_of(r) == "unsupported_media_type"
    r = c.post(
        "/v1/analyze",
        content=b'--xyz\r\nContent-Disposition: form-data; name="image"\r\n\r\nabc',
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert r.status_code == 400 and error_of(r) == "bad_multipart"
    r = c.post("/v1/analyze?aligned=maybe", files={"image": ("p.png", png, "image/png")})
    assert r.status_code == 422 and error_of(r) == "invalid_parameter"
    r = c.get("/v1/nothing-here")
    assert r.status_code == 404 and error_of(r) == "not_found"


def test_path_traversal_file_names_write_nothing_outside_the_data_folder(make_client, tmp_path):
    c = make_client()
    png = encode(photo())
    for name in ("../../../evil.png", "..\\..\\evil.png", "/etc/evil.png", "C:\\Windows\\evil.png"):
        r = c.post("/v1/analyze", files={"image": (name, png, "image/png")})
        assert r.status_code == 200 and r.json()["file"] == "evil.png"
    assert display_name("..") is None and display_name("a\x00b\nc.png") == "abc.png"
    # a video upload is stored under a name the service makes
    r = c.post(
        "/v1/videos?max_frames=3",
        files={"video": ("../../evil.avi", video_bytes(tmp_path, 4), "video/x-msvideo")},
    )
    assert r.status_code == 202
    job = wait_job(c, r.json()["id"])
    assert job["file"] == "evil.avi"
    everything = [p for p in tmp_path.rglob("*")]
    assert not [p for p in everything if "evil" in p.name]
    outside = [
        p for p in everything if p.is_file() and (tmp_path / "data") not in p.parents and p.suffix != ".avi"
    ]
    assert outside == []


# ------------------------------------------------------------------------------------------------- micro
def test_micro_pair(make_client):
    c = make_client()
    onset = photo(faces=((220, 140),), moods=("neutral",))
    apex = photo(faces=((220, 140),), moods=("smile",))
    r = c.post(
        "/v1/micro",
        files={
            "onset": ("on.png", encode(onset), "image/png"),
            "apex": ("ap.png", encode(apex), "image/png"),
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["file"] == "on.png -> ap.png"
    assert abs(sum(body["probabilities"].values()) - 1) < 1e-4 and body["label"] in body["probabilities"]
    assert body["box"] is not None and body["motion"] > 0
    # frames of two sizes
    r = c.post(
        "/v1/micro",
        files={
            "onset": ("on.png", encode(onset), "image/png"),
            "apex": ("ap.png", encode(apex[:400]), "image/png"),
        },
    )
    assert r.status_code == 422 and error_of(r) == "size_mismatch"
    # no face in the onset frame
    wall = encode(np.full((300, 400, 3), 120, np.uint8))
    r = c.post(
        "/v1/micro", files={"onset": ("a.png", wall, "image/png"), "apex": ("b.png", wall, "image/png")}
    )
    assert r.status_code == 422 and error_of(r) == "no_face"


def test_micro_without_a_model_is_503(make_client):
    def no_model():
        raise FileNotFoundError("micro.onnx: micro-expression model not found")

    c = make_client(micro_factory=no_model)
    png = encode(photo())
    r = c.post("/v1/micro", files={"onset": ("a.png", png, "image/png"), "apex": ("b.png", png, "image/png")})
    assert r.status_code == 503 and error_of(r) == "model_unavailable"
    assert c.get("/healthz").json()["models"]["micro"] is None


# ------------------------------------------------------------------------------------------------ videos
def video_bytes(tmp_path: Path, n: int = 12) -> bytes:
    """A small MJPG AVI: a schematic face that drifts to the right."""
    path = tmp_path / f"clip{n}.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (480, 360))
    assert w.isOpened()
    for i in range(n):
        frame = np.full((360, 480, 3), 150, np.uint8)
        frame[80:272, 120 + 2 * i : 312 + 2 * i] = schematic_face("smile")
        w.write(frame)
    w.release()
    return path.read_bytes()


def wait_job(c: TestClient, job_id: str, states=("done", "failed", "interrupted")) -> dict:
    for _ in range(1200):  # up to about a minute
        body = c.get(f"/v1/videos/{job_id}").json()
        if body["status"] in states:
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {body['status']}")


def test_video_job_runs_in_the_background_and_keeps_results_across_a_restart(make_client, tmp_path):
    c = make_client()
    r = c.post("/v1/videos?every=2", files={"video": ("clip.avi", video_bytes(tmp_path), "video/x-msvideo")})
    assert r.status_code == 202, r.text
    created = r.json()
    jid = created["id"]
    assert created["status"] == "queued" and r.headers["location"] == f"/v1/videos/{jid}"
    job = wait_job(c, jid)
    assert job["status"] == "done", job
    assert job["progress"] == 1.0 and job["frames_done"] == 12
    res = job["result"]
    assert res["frames_analysed"] == 12 and res["file"] == "clip.avi" and "frames" not in res
    assert len(res["faces"]) == 1 and res["faces"][0]["frames"] >= 8
    full = c.get(f"/v1/videos/{jid}?frames=true").json()["result"]
    assert len(full["frames"]) == 12
    csv = c.get(f"/v1/videos/{jid}/frames.csv")
    assert csv.status_code == 200 and csv.text.startswith("time,frame,face_id")
    if "timeline.png" in res["outputs"]:
        png = c.get(f"/v1/videos/{jid}/timeline.png")
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert c.get(f"/videos/{jid}").headers["content-type"].startswith("text/html")
    assert not (tmp_path / "data" / "jobs" / jid / INPUT_NAME).exists()  # the upload is removed when done
    assert [j["id"] for j in c.get("/v1/videos").json()["jobs"]] == [jid]
    c.__exit__(None, None, None)

    # a new service on the same data folder still has the job and its files
    c2 = make_client()
    again = c2.get(f"/v1/videos/{jid}").json()
    assert again["status"] == "done" and again["result"] == res
    assert c2.get(f"/v1/videos/{jid}/frames.csv").text == csv.text
    assert c2.delete(f"/v1/videos/{jid}").status_code == 204
    assert c2.get(f"/v1/videos/{jid}").status_code == 404


def test_bad_video_uploads(make_client, tmp_path):
    c = make_client(max_video_bytes=200_000)
    r = c.post("/v1/videos", files={"video": ("v.mp4", b"", "video/mp4")})
    assert r.status_code == 400 and error_of(r) == "empty_upload"
    r = c.post("/v1/videos", files={"video": ("v.mp4", b"not a video at all" * 100, "video/mp4")})
    assert r.status_code == 422 and error_of(r) == "not_a_video"
    r = c.post("/v1/videos", files={"video": ("v.avi", b"\0" * 300_000, "video/x-msvideo")})
    assert r.status_code == 413 and error_of(r) == "payload_too_large"
    r = c.post("/v1/videos?every=0", files={"video": ("v.avi", video_bytes(tmp_path, 3), "video/x-msvideo")})
    assert r.status_code == 422 and error_of(r) == "invalid_parameter"
    # nothing is left behind by refused uploads
    assert (
        list((tmp_path / "data" / "jobs").iterdir()) == []
        and list((tmp_path / "data" / "tmp").iterdir()) == []
    )
    assert c.get("/v1/videos").json()["jobs"] == []


def test_unknown_and_malformed_job_ids_are_404(make_client):
    c = make_client()
    for jid in (new_job_id(), "nope", "..", "%2e%2e%2fjobs.sqlite3"):
        r = c.get(f"/v1/videos/{jid}")
        assert r.status_code == 404 and error_of(r) == "not_found", jid
    r = c.get(f"/v1/videos/{new_job_id()}/frames.csv")
    assert r.status_code == 404 and error_of(r) == "not_found"
    assert c.get("/videos/not-a-job").status_code == 404


def test_jobs_running_at_a_stop_are_interrupted_and_queued_ones_resume(tmp_path, make_client):
    data = tmp_path / "data"
    store = JobStore(data)
    running, queued = new_job_id(), new_job_id()
    for jid in (running, queued):
        store.create(jid, f"{jid[:4]}.mp4", {"every": 5})
        store.job_dir(jid).mkdir()
        store.input_path(jid).write_bytes(b"video")
    store.update(running, status="running", started=time.time(), frames_done=40, frames_total=100)
    store.close()
    seen: list[Path] = []

    def fake_video(path, **kw):  # stands in for analyze_video: records its input and gives an empty result
        from emoscope.tasks.video.results import VideoResult

        seen.append(Path(path))
        return VideoResult(file=str(path), classes=("neutral", "happiness"))

    c = make_client(video_fn=fake_video)
    job = c.get(f"/v1/videos/{running}").json()
    assert job["status"] == "interrupted" and job["error"] == "interrupted" and "stopped" in job["detail"]
    assert not store.input_path(running).exists()
    assert wait_job(c, queued)["status"] == "done"
    assert seen == [store.input_path(queued)]


def test_stopping_the_service_interrupts_a_running_job(make_client, tmp_path):
    started = threading.Event()

    def endless_video(path, *, progress, **kw):
        started.set()
        for i in range(100_000):  # until the service stops (bounded all the same)
            progress(i, None)
            time.sleep(0.01)
        raise AssertionError("the job was not stopped")

    c = make_client(video_fn=endless_video)
    jid = c.post(
        "/v1/videos", files={"video": ("v.avi", video_bytes(tmp_path, 3), "video/x-msvideo")}
    ).json()["id"]
    assert started.wait(60)
    c.__exit__(None, None, None)
    store = JobStore(tmp_path / "data")
    job = store.get(jid)
    assert job is not None and job.status == "interrupted"
    store.close()


# ------------------------------------------------------------------------------------------ service, page
def test_health_openapi_and_page(make_client):
    c = make_client()
    h = c.get("/healthz").json()
    assert h["status"] == "ok" and h["models"]["expression"]["classes"] and h["models"]["video"] is True
    assert h["limits"]["max_upload_bytes"] == 20 * 2**20
    api = c.get("/openapi.json").json()
    assert {"/v1/analyze", "/v1/micro", "/v1/videos", "/v1/videos/{job_id}", "/healthz"} <= set(api["paths"])
    body = api["paths"]["/v1/analyze"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["required"] == ["image"]
    page = c.get("/")
    assert page.status_code == 200 and "photo-input" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert c.get("/static/app.js").status_code == 200
    assert c.get("/static/../app.py").status_code == 404


def test_the_page_loads_nothing_from_elsewhere():
    static = Path(__file__).resolve().parents[2] / "emoscope" / "service" / "static"
    files = list(static.iterdir())
    assert {"index.html", "video.html", "app.js", "video.js", "common.js", "style.css"} <= {
        f.name for f in files
    }
    for f in files:
        text = f.read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, f.name


def test_cors_is_off_unless_asked(make_client, tmp_path):
    pre = {"origin": "http://example.test", "access-control-request-method": "POST"}
    c = make_client()
    assert "access-control-allow-origin" not in c.options("/v1/analyze", headers=pre).headers
    assert (
        "access-control-allow-origin"
        not in c.get("/healthz", headers={"origin": "http://example.test"}).headers
    )
    c2 = make_client(data_dir=tmp_path / "d2", cors_origins=["http://example.test"])
    assert (
        c2.options("/v1/analyze", headers=pre).headers["access-control-allow-origin"] == "http://example.test"
    )


def test_serve_command_options(capsys):
    with pytest.raises(SystemExit) as e:
        main(["serve", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--host", "--port", "--data-dir", "--cors-origin", "--threads", "--max-upload-mb"):
        assert opt in out
    assert main(["serve", "--threads", "0", "--data-dir", "unused"]) == 2
    assert "threads must be at least 1" in capsys.readouterr().err


class _BlockingAnalyzer:
    """Stands in for an Analyzer: ``analyze`` waits until released (or raises, with ``fail``)."""

    def __init__(self, real: Analyzer, fail: bool = False):
        self.recognizer, self.detector = real.recognizer, real.detector
        self.entered, self.release, self.fail = threading.Event(), threading.Event(), fail

    def analyze(self, image, *, file=None):
        if self.fail:
            raise RuntimeError("the model broke reading /srv/secret/models/expression.onnx")
        self.entered.set()
        assert self.release.wait(60)
        return Analyzer.analyze(Analyzer(self.recognizer, self.detector), image, file=file)


def test_too_many_waiting_requests_is_503_and_faults_are_json_500(make_client, analyzer, tmp_path):
    blocking = _BlockingAnalyzer(analyzer)
    c = make_client(analyzer_factory=lambda: blocking, max_pending=1)
    png = encode(photo())
    first: list = []
    t = threading.Thread(target=lambda: first.append(c.post("/v1/analyze", files={"image": ("a.png", png)})))
    t.start()
    assert blocking.entered.wait(60)
    r = c.post("/v1/analyze", files={"image": ("b.png", png)})
    assert r.status_code == 503 and error_of(r) == "busy"
    blocking.release.set()
    t.join(60)
    assert first[0].status_code == 200 and len(first[0].json()["faces"]) == 2

    broken = _BlockingAnalyzer(analyzer, fail=True)
    app = create_app(ServiceSettings(data_dir=tmp_path / "d3", threads=1, analyzer_factory=lambda: broken))
    with TestClient(app, raise_server_exceptions=False) as c3:
        r = c3.post("/v1/analyze", files={"image": ("a.png", png)})
    assert r.status_code == 500 and error_of(r) == "internal_error"


def test_faults_are_logged_not_sent_to_the_client(analyzer, tmp_path, caplog):
    png = encode(photo())
    broken = _BlockingAnalyzer(analyzer, fail=True)
    app = create_app(ServiceSettings(data_dir=tmp_path / "d4", threads=1, analyzer_factory=lambda: broken))
    with (
        caplog.at_level("ERROR", logger="emoscope.service"),
        TestClient(app, raise_server_exceptions=False) as c,
    ):
        r = c.post("/v1/analyze", files={"image": ("a.png", png)})
    assert r.status_code == 500 and error_of(r) == "internal_error"
    detail, rid = r.json()["detail"], r.headers["x-request-id"]
    assert "/srv/secret" not in detail and "model broke" not in detail and "RuntimeError" not in detail
    assert f"request id {rid}" in detail
    logged = [rec for rec in caplog.records if rid in rec.getMessage()]  # the details stay on the server
    assert logged and "/srv/secret/models" in str(logged[0].exc_info[1])


@pytest.mark.parametrize("failure", ["partial", "invalid", "crash"])
def test_video_job_messages_name_the_upload_not_the_server_path(make_client, tmp_path, failure):
    from emoscope.errors import InputError
    from emoscope.tasks.video.results import VideoResult

    def video_fn(path, **kw):  # stands in for analyze_video: its messages name the file it was given
        if failure == "invalid":
            raise InputError(path, f"{path}: cannot be decoded")
        if failure == "crash":
            raise OSError(f"[Errno 5] Input/output error: '{path}'")
        res = VideoResult(file=str(path), classes=("neutral", "happiness"))
        res.problems.append(f"{path}: decoding stopped after 6 of the 10 frames the file announces")
        return res

    c = make_client(video_fn=video_fn)
    r = c.post("/v1/videos", files={"video": ("holiday.avi", video_bytes(tmp_path, 3), "video/x-msvideo")})
    job = wait_job(c, r.json()["id"])
    text = json.dumps(job) + json.dumps(c.get(f"/v1/videos/{job['id']}?frames=true").json())
    assert str(tmp_path) not in text and INPUT_NAME not in text, text
    if failure == "partial":
        assert job["status"] == "done"
        assert job["result"]["problems"] == [
            "holiday.avi: decoding stopped after 6 of the 10 frames the file announces"
        ]
    else:
        assert job["status"] == "failed" and job["detail"].startswith("holiday.avi: "), job
        assert "holiday.avi: holiday.avi" not in job["detail"]
        assert job["error"] == ("invalid_video" if failure == "invalid" else "analysis_failed")
    if failure == "crash":
        assert job["id"] in job["detail"] and "OSError" in job["detail"]
