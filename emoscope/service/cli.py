"""``emoscope serve``: run the HTTP service with uvicorn (its options are added to the main parser here)."""

from __future__ import annotations

import argparse
import sys

from emoscope.service.settings import MAX_PIXELS, MAX_UPLOAD_BYTES, MAX_VIDEO_BYTES, default_threads


def add_serve_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand to the ``emoscope`` parser."""
    p = sub.add_parser(
        "serve",
        help="HTTP service + web page (needs the 'serve' extra: FastAPI, uvicorn)",
        description="Serve emoscope over HTTP: POST /v1/analyze, /v1/micro, /v1/videos, GET /v1/videos/{id}, "
        "/healthz, the OpenAPI description at /openapi.json and a web page at /.",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--data-dir",
        default="emoscope-data",
        help="the service's data folder: job database, video uploads and results (default ./emoscope-data)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=default_threads(),
        help="inference threads for image requests (default: cores, at most 4)",
    )
    p.add_argument("--video-workers", type=int, default=1, help="video jobs analysed at once")
    p.add_argument(
        "--max-upload-mb", type=float, default=MAX_UPLOAD_BYTES / 2**20, help="largest image upload (MiB)"
    )
    p.add_argument(
        "--max-video-mb", type=float, default=MAX_VIDEO_BYTES / 2**20, help="largest video upload (MiB)"
    )
    p.add_argument(
        "--max-pixels", type=int, default=MAX_PIXELS, help="largest image / video frame (width x height)"
    )
    p.add_argument("--max-video-frames", type=int, help="analyse at most this many frames of a video")
    p.add_argument("--model", help="expression ONNX model (default: the shipped one)")
    p.add_argument("--head", help="label set: ferplus (default) or fer2013")
    p.add_argument("--micro-model", help="micro-expression ONNX model (default: the shipped one, if any)")
    p.add_argument("--keep-uploads", action="store_true", help="keep uploaded videos after their job")
    p.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow browser pages from ORIGIN (e.g. http://localhost:3000) to call the API; repeat for "
        "more; default: CORS off",
    )
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def run_serve(a: argparse.Namespace) -> int:
    """Load the models, then serve until Ctrl-C."""
    try:
        import uvicorn

        from emoscope.service.app import create_app
    except ImportError as e:
        print(
            f"emoscope: error: the service needs the 'serve' extra: pip install 'emoscope[serve]' ({e})",
            file=sys.stderr,
        )
        return 2
    from emoscope.service.settings import ServiceSettings

    try:
        settings = ServiceSettings(
            data_dir=a.data_dir,
            threads=a.threads,
            video_workers=a.video_workers,
            max_upload_bytes=int(a.max_upload_mb * 2**20),
            max_video_bytes=int(a.max_video_mb * 2**20),
            max_pixels=a.max_pixels,
            max_video_frames=a.max_video_frames,
            model=a.model,
            head=a.head,
            micro_model=a.micro_model,
            keep_uploads=a.keep_uploads,
            cors_origins=list(a.cors_origin),
        )
    except ValueError as e:
        print(f"emoscope: error: {e}", file=sys.stderr)
        return 2
    app = create_app(settings)
    print(
        f"emoscope: serving on http://{a.host}:{a.port}/ (data in {settings.data_dir}, {settings.threads} "
        "inference threads)",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=a.host, port=a.port, log_level=a.log_level, timeout_graceful_shutdown=10)
    return 0
