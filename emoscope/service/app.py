"""The emoscope HTTP service (FastAPI): images, micro-expression pairs and video jobs, and a web page.

Build it with :func:`create_app` (``emoscope serve`` runs it with uvicorn)::

    from emoscope.service import ServiceSettings, create_app
    app = create_app(ServiceSettings(data_dir="srv-data"))

Endpoints (OpenAPI description at ``/openapi.json``):

==============================  ===========================================================================
``POST /v1/analyze``            multipart field ``image``: every face's box, label and probabilities (the
                                JSON of ``emoscope predict --json``); ``?aligned=true``: the image is a face
``POST /v1/micro``              fields ``onset`` and ``apex``: the micro-expression between the two frames
``POST /v1/videos``             field ``video``: starts a background job, answers 202 with its id
``GET /v1/videos``              recent jobs
``GET /v1/videos/{id}``         status, progress and (when done) the results; ``?frames=true``: every frame
``GET /v1/videos/{id}/...``     ``result.json``, ``frames.csv``, ``timeline.png``
``DELETE /v1/videos/{id}``      remove a finished job and its files
``GET /healthz``                models, limits, job counts
``GET /``, ``/videos/{id}``     the web page (no external resource: works offline)
==============================  ===========================================================================

Errors are ``{"error": code, "detail": text}`` with a 4xx status (5xx only for the service's own faults). The
models are loaded once, when the app is built: ``threads`` analyzers for image requests (a thread pool, one
picture per thread, one-thread ONNX sessions) and one per video worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from queue import Queue
from typing import Any, Literal

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from emoscope.errors import InputError
from emoscope.input.images import read_image_bytes
from emoscope.service.jobs import FINAL_STATES, INPUT_NAME, JOB_ID, JobRunner, JobStore, new_job_id
from emoscope.service.settings import ServiceSettings
from emoscope.service.uploads import ServiceError, Upload, check_declared_size, read_uploads

log = logging.getLogger("emoscope.service")

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Files of a finished job that can be downloaded, with their media types.
JOB_FILES = {"result.json": "application/json", "frames.csv": "text/csv", "timeline.png": "image/png"}
#: Content-Security-Policy of every response: the page may load nothing from anywhere but this service.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


# ------------------------------------------------------------------------------------------ OpenAPI models
class ErrorBody(BaseModel):
    error: str = Field(description="machine-readable code, e.g. not_an_image, payload_too_large")
    detail: str = Field(description="what is wrong, for a person")


class FaceBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    box: list[int] = Field(description="x, y, w, h in pixels of the (EXIF-rotated) image")
    score: float = Field(description="face detection confidence in [0, 1]")
    label: str
    probabilities: dict[str, float] = Field(description="emotion -> calibrated probability")


class ImageBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    file: str | None = Field(description="the upload's file name (display only)")
    faces: list[FaceBody]
    width: int | None = None
    height: int | None = None


class MicroBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    file: str | None
    label: str
    probabilities: dict[str, float]
    onset_frame: int
    apex_frame: int
    motion: float
    box: list[int] | None


class JobBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    status: Literal["queued", "running", "done", "failed", "interrupted"]
    progress: float | None = Field(description="fraction of the frames analysed (null while unknown)")
    frames_done: int
    frames_total: int | None
    error: str | None
    detail: str | None
    links: dict[str, str]
    result: dict[str, Any] | None = Field(None, description="VideoResult.to_dict() when done")


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "bad request: empty upload, wrong or missing form field, bad multipart",
    },
    413: {
        "model": ErrorBody,
        "description": "upload larger than the limit, or an image with too many pixels",
    },
    415: {"model": ErrorBody, "description": "the body is not multipart/form-data"},
    422: {
        "model": ErrorBody,
        "description": "the upload is not a decodable image / video, or a bad parameter",
    },
    503: {"model": ErrorBody, "description": "too many requests waiting, or the model is not available"},
}


def _multipart(fields: dict[str, str]) -> dict[str, Any]:
    props = {k: {"type": "string", "format": "binary", "description": v} for k, v in fields.items()}
    schema = {"type": "object", "required": list(fields), "properties": props}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


# ------------------------------------------------------------------------------------------------- state
class ServiceState:
    """The loaded models, thread pools and job store of one app."""

    def __init__(self, settings: ServiceSettings):
        self.settings = s = settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir = s.data_dir / "tmp"
        shutil.rmtree(self.tmp_dir, ignore_errors=True)  # partial uploads of a previous run
        self.tmp_dir.mkdir()
        factory = s.analyzer_factory or self._default_analyzer
        self._analyzers: Queue[Any] = Queue()
        for _ in range(s.threads):
            self._analyzers.put(self._loaded(factory()))
        first = self._analyzers.queue[0]
        self.classes: tuple[str, ...] = tuple(first.recognizer.classes)
        self.model_info = {
            "file": Path(str(getattr(first.recognizer, "model_path", "model"))).name,
            "head": getattr(first.recognizer, "head", None),
            "classes": list(self.classes),
        }
        self.executor = ThreadPoolExecutor(max_workers=s.threads, thread_name_prefix="emoscope-infer")
        self.pending = 0
        self.micro, self.micro_problem = self._load_micro()
        self.video_fn, self.video_problem = self._load_video_fn()
        self.store = JobStore(s.data_dir)
        self.runner: JobRunner | None = None
        if self.video_fn is not None:
            self.runner = JobRunner(
                self.store,
                self.video_fn,
                [self._loaded(factory()) for _ in range(s.video_workers)],
                keep_uploads=s.keep_uploads,
            )
            for jid in self.store.recover():
                self.runner.submit(jid)
        else:
            self.store.recover()
        self._closed = False

    def _default_analyzer(self) -> Any:
        from emoscope.api import Analyzer
        from emoscope.tasks.expression.predictor import ExpressionRecognizer

        s = self.settings
        return Analyzer(
            ExpressionRecognizer(s.model, head=s.head, threads=s.ort_threads), max_pixels=s.max_pixels
        )

    @staticmethod
    def _loaded(analyzer: Any) -> Any:
        _ = analyzer.detector  # load the face detector now, not on the first request
        return analyzer

    def _load_micro(self) -> tuple[Any, str | None]:
        s = self.settings
        if s.micro_factory is not None:
            try:
                return s.micro_factory(), None
            except FileNotFoundError as e:
                return None, str(e)
        from emoscope.tasks.micro.predictor import MicroRecognizer

        try:
            return MicroRecognizer(s.micro_model, threads=s.ort_threads), None
        except FileNotFoundError as e:
            if s.micro_model is not None:
                raise
            return (
                None,
                f"no micro-expression model is installed ({Path(str(e).split(':')[0]).name} not found)",
            )

    def _load_video_fn(self) -> tuple[Callable[..., Any] | None, str | None]:
        if self.settings.video_fn is not None:
            return self.settings.video_fn, None
        try:
            from emoscope.tasks.video.analyze import analyze_video
        except ImportError as e:
            return None, f"video analysis is not available in this installation ({e})"
        return analyze_video, None

    async def run(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(analyzer)`` on the inference thread pool; 503 when too many requests wait already."""
        if self.pending >= self.settings.max_pending:
            raise ServiceError(503, "busy", f"{self.pending} requests are waiting; try again shortly")
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, self._with_analyzer, fn)
        finally:
            self.pending -= 1

    def _with_analyzer(self, fn: Callable[[Any], Any]) -> Any:
        analyzer = self._analyzers.get()
        try:
            return fn(analyzer)
        finally:
            self._analyzers.put(analyzer)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.runner is not None:
            self.runner.shutdown()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.store.close()


def decode_image(up: Upload, max_pixels: int) -> np.ndarray:
    """The uploaded picture as ``(H, W, 3)`` BGR, checked by decoding it (never by its name or media type)."""
    if up.size == 0 or not up.data:
        raise ServiceError(400, "empty_upload", f"the '{up.field}' upload is empty (0 bytes)")
    try:
        return read_image_bytes(bytes(up.data), name=up.field, max_pixels=max_pixels)
    except InputError as e:
        p = e.problem
        if "too large" in p:
            raise ServiceError(413, "too_many_pixels", f"'{up.field}': {p}") from None
        if "not an image" in p:
            raise ServiceError(
                422,
                "not_an_image",
                f"'{up.field}' is not an image, or an image format that cannot "
                "be decoded (JPEG, PNG, BMP, TIFF, WebP, GIF are)",
            ) from None
        if "corrupt" in p:
            raise ServiceError(422, "corrupt_image", f"'{up.field}': {p}") from None
        raise ServiceError(422, "invalid_image", f"'{up.field}': {p}") from None


def _probe_video(path: Path, max_pixels: int) -> dict[str, Any]:
    """Open the uploaded video and decode its first frame; ServiceError (422 / 413) when it is not usable."""
    from emoscope.input.video import open_video

    try:
        reader = open_video(path, name="video")
    except InputError as e:
        raise ServiceError(422, "not_a_video", f"the upload cannot be used as a video: {e.problem}") from None
    try:
        first = reader.peek()
        h, w = first.image.shape[:2] if first is not None else (0, 0)
        if w * h > max_pixels:
            raise ServiceError(
                413,
                "too_many_pixels",
                f"video frames of {w}x{h} = {w * h:,} pixels exceed the limit of {max_pixels:,}",
            )
        return {"width": w, "height": h, "fps": reader.fps, "frame_count": reader.frame_count}
    finally:
        reader.close()


class SecurityHeaders:
    """ASGI middleware: a strict Content-Security-Policy and no-sniff on every HTTP response."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _colour_hex() -> dict[str, str]:
    from emoscope.outputs.annotate import COLOURS

    return {k: f"#{r:02x}{g:02x}{b:02x}" for k, (b, g, r) in COLOURS.items()}


# --------------------------------------------------------------------------------------------------- app
def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """Build the service: loads the models, opens the job store (marking jobs that were running when the
    service last stopped as ``interrupted`` and resuming queued ones). Closing (the app's lifespan end) stops
    the job threads and closes the store."""
    from emoscope import __version__

    s = settings or ServiceSettings()
    state = ServiceState(s)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        state.close()

    app = FastAPI(
        title="emoscope",
        version=__version__,
        description="Facial expressions of every face in a photo, micro-expressions between two frames, and "
        'expression timelines of videos (background jobs). Errors: `{"error": code, "detail": text}`.',
        lifespan=lifespan,
        docs_url=None,  # Swagger UI / ReDoc load scripts from a CDN: not offered (the service works offline)
        redoc_url=None,
    )
    app.state.emoscope = state
    app.add_middleware(SecurityHeaders)
    if s.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(s.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["*"],
        )

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        headers = {"connection": "close"} if exc.status == 413 else None
        return JSONResponse(
            {"error": exc.error, "detail": exc.detail}, status_code=exc.status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()]
        return JSONResponse({"error": "invalid_parameter", "detail": "; ".join(parts)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, f"http_{exc.status_code}")
        return JSONResponse(
            {"error": code, "detail": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
        """A fault of the service: the details (which may name server files) go to the server's log only; the
        client gets a generic message with an id to find them there."""
        rid = uuid.uuid4().hex[:16]
        log.error("request %s: %s %s failed", rid, request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            {"error": "internal_error", "detail": f"the service failed to handle this request (request id {rid}; "
             "the service log has the details)"},
            status_code=500,
            headers={"x-request-id": rid},
        )  # fmt: skip

    # ------------------------------------------------------------------------------------------- images
    @app.post(
        "/v1/analyze",
        tags=["images"],
        summary="Expressions of every face in a photo",
        response_model=None,
        responses={200: {"model": ImageBody}, **ERRORS},
        openapi_extra=_multipart({"image": "the photo (any format Pillow decodes)"}),
    )
    async def analyze_image(
        request: Request,
        aligned: bool = Query(False, description="the image is one face crop: classify it without detection"),
    ) -> JSONResponse:
        ups = await read_uploads(
            request.headers, request.stream(), fields=("image",), limit=s.max_upload_bytes
        )
        up = ups["image"]

        def work(analyzer: Any) -> dict[str, Any]:
            img = decode_image(up, s.max_pixels)
            res = (
                analyzer.analyze_aligned(img, file=up.filename)
                if aligned
                else analyzer.analyze(img, file=up.filename)
            )
            return res.to_dict()

        return JSONResponse(await state.run(work))

    @app.post(
        "/v1/micro",
        tags=["images"],
        summary="Micro-expression between an onset and an apex frame",
        response_model=None,
        responses={200: {"model": MicroBody}, **ERRORS},
        openapi_extra=_multipart({"onset": "the onset (neutral) frame", "apex": "the apex frame, same size"}),
    )
    async def analyze_micro(
        request: Request,
        aligned: bool = Query(False, description="the frames are already face crops (no detection)"),
        flow: Literal["tvl1", "farneback"] = Query("tvl1", description="optical flow method"),
    ) -> JSONResponse:
        if state.micro is None:
            check_declared_size(request.headers, 2 * s.max_upload_bytes)
            raise ServiceError(503, "model_unavailable", state.micro_problem or "no micro-expression model")
        ups = await read_uploads(
            request.headers, request.stream(), fields=("onset", "apex"), limit=2 * s.max_upload_bytes
        )
        onset, apex = ups["onset"], ups["apex"]

        def work(analyzer: Any) -> dict[str, Any]:
            from emoscope.features.micro import NoFaceError

            a, b = decode_image(onset, s.max_pixels), decode_image(apex, s.max_pixels)
            if a.shape[:2] != b.shape[:2]:
                raise ServiceError(
                    422,
                    "size_mismatch",
                    f"the apex frame is {b.shape[1]}x{b.shape[0]}, the onset "
                    f"frame {a.shape[1]}x{a.shape[0]}: send two frames of one size",
                )
            names = (onset.filename or "onset", apex.filename or "apex")
            try:
                res = state.micro.analyze_pair(
                    a, b, aligned=aligned, detector=analyzer.detector, method=flow, names=names
                )
            except NoFaceError as e:
                raise ServiceError(422, "no_face", str(e)) from None
            except ValueError as e:
                raise ServiceError(422, "invalid_input", str(e)) from None
            res.file = f"{names[0]} -> {names[1]}"
            return res.to_dict()

        return JSONResponse(await state.run(work))

    # ------------------------------------------------------------------------------------------- videos
    def links(job_id: str) -> dict[str, str]:
        base = f"/v1/videos/{job_id}"
        return {
            "self": base,
            "page": f"/videos/{job_id}",
            **{k.split(".")[0] + "_" + k.split(".")[1]: f"{base}/{k}" for k in JOB_FILES},
        }

    def job_body(job: Any, frames: bool = False) -> dict[str, Any]:
        d = job.to_dict()
        d["links"] = links(job.id)
        d["result"] = None
        if job.status == "done" and job.summary is not None:
            d["result"] = job.summary
            if frames:
                path = state.store.job_dir(job.id) / "result.json"
                with contextlib.suppress(OSError, ValueError):
                    d["result"] = {**json.loads(path.read_text()), "outputs": job.summary.get("outputs", [])}
        return d

    def get_job(job_id: str) -> Any:
        job = state.store.get(job_id)
        if job is None:
            raise ServiceError(404, "not_found", f"no video job with id {job_id[:64]!r}")
        return job

    @app.post(
        "/v1/videos",
        tags=["videos"],
        summary="Start a video job",
        status_code=202,
        response_model=None,
        responses={202: {"model": JobBody}, **ERRORS},
        openapi_extra=_multipart({"video": "the video file (any container / codec OpenCV's FFmpeg reads)"}),
    )
    async def create_video_job(
        request: Request,
        every: int = Query(
            5, ge=1, le=100, description="run the face detector every N frames (tracking between)"
        ),
        smoothing: float = Query(
            0.3, ge=0, le=10, description="smoothing time constant in seconds (0 = none)"
        ),
        max_frames: int | None = Query(None, ge=1, description="analyse at most this many frames"),
    ) -> JSONResponse:
        if state.runner is None:
            raise ServiceError(
                503, "video_unavailable", state.video_problem or "video analysis is not available"
            )
        check_declared_size(request.headers, s.max_video_bytes)
        jid = new_job_id()
        part = state.tmp_dir / f"{jid}.part"
        folder = state.store.job_dir(jid)
        try:
            ups = await read_uploads(
                request.headers,
                request.stream(),
                fields=("video",),
                limit=s.max_video_bytes,
                spool={"video": part},
            )
            up = ups["video"]
            if up.size == 0:
                raise ServiceError(400, "empty_upload", "the 'video' upload is empty (0 bytes)")
            info = await asyncio.to_thread(_probe_video, part, s.max_pixels)
            folder.mkdir(parents=True)
            os.replace(part, folder / INPUT_NAME)
        except BaseException:
            with contextlib.suppress(OSError):
                part.unlink()
            shutil.rmtree(folder, ignore_errors=True)
            raise
        caps = [x for x in (max_frames, s.max_video_frames) if x is not None]
        limit = min(caps) if caps else None
        params = {"every": every, "smoothing": smoothing, "max_frames": limit, "bytes": up.size, **info}
        job = state.store.create(jid, up.filename, params)
        state.runner.submit(jid)
        return JSONResponse(job_body(job), status_code=202, headers={"location": f"/v1/videos/{jid}"})

    @app.get("/v1/videos", tags=["videos"], summary="Recent video jobs, newest first")
    async def list_video_jobs(limit: int = Query(50, ge=1, le=500)) -> dict[str, Any]:
        return {"jobs": [job_body(j) for j in state.store.list(limit)]}

    @app.get(
        "/v1/videos/{job_id}",
        tags=["videos"],
        summary="Status, progress and results of a video job",
        response_model=None,
        responses={200: {"model": JobBody}, 404: {"model": ErrorBody}},
    )
    async def get_video_job(
        job_id: str, frames: bool = Query(False, description="include every frame")
    ) -> JSONResponse:
        job = get_job(job_id)
        body = await asyncio.to_thread(job_body, job, frames) if frames else job_body(job)
        return JSONResponse(body)

    @app.get(
        "/v1/videos/{job_id}/{name}",
        tags=["videos"],
        summary="A file of a finished job",
        response_model=None,
        responses={404: {"model": ErrorBody}},
    )
    async def get_video_file(job_id: str, name: str) -> Response:
        job = get_job(job_id)
        if name not in JOB_FILES:
            raise ServiceError(404, "not_found", f"no file {name[:64]!r}; a job has {', '.join(JOB_FILES)}")
        path = state.store.job_dir(job.id) / name
        if job.status != "done" or not path.is_file():
            raise ServiceError(404, "not_found", f"job {job.id} has no {name} (status {job.status})")
        return FileResponse(path, media_type=JOB_FILES[name], filename=f"{job.id}-{name}")

    @app.delete(
        "/v1/videos/{job_id}",
        tags=["videos"],
        summary="Remove a finished job and its files",
        status_code=204,
        response_model=None,
        responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
    )
    async def delete_video_job(job_id: str) -> Response:
        job = get_job(job_id)
        if job.status not in FINAL_STATES:
            raise ServiceError(
                409, "job_active", f"job {job.id} is {job.status}; it can be removed when it ends"
            )
        state.store.delete(job.id)
        return Response(status_code=204)

    # ------------------------------------------------------------------------------------------- health
    @app.get("/healthz", tags=["service"], summary="Liveness, models and limits")
    async def healthz() -> dict[str, Any]:
        micro = None
        if state.micro is not None:
            micro = {
                "file": Path(str(getattr(state.micro, "model_path", "model"))).name,
                "classes": list(getattr(state.micro, "classes", ())),
            }
        return {
            "status": "ok",
            "version": __version__,
            "models": {
                "expression": state.model_info,
                "micro": micro,
                "micro_problem": state.micro_problem,
                "video": state.runner is not None,
                "video_problem": state.video_problem,
            },
            "limits": {
                "max_upload_bytes": s.max_upload_bytes,
                "max_video_bytes": s.max_video_bytes,
                "max_pixels": s.max_pixels,
                "max_video_frames": s.max_video_frames,
                "max_pending": s.max_pending,
            },
            "threads": s.threads,
            "pending": state.pending,
            "jobs": state.store.counts(),
            "colours": _colour_hex(),
        }

    # ---------------------------------------------------------------------------------------------- page
    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/videos/{job_id}", include_in_schema=False)
    async def video_page(job_id: str) -> FileResponse:
        if not JOB_ID.match(job_id):
            raise ServiceError(404, "not_found", "not a job id")
        return FileResponse(STATIC_DIR / "video.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
