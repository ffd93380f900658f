"""Load test of the HTTP service: N image requests at once on loopback, against the in-process pipeline.

Starts ``emoscope serve`` on a free loopback port (or targets ``--url``), sends ``--requests`` POST
/v1/analyze requests (default 200) with up to ``--concurrency`` in flight (default: all of them), and prints
the throughput, the p50 / p95 / max latency and the error count. It also measures the in-process pipeline on
the same JPEG images (decode + detect + align + classify), once before and once after the load (the server
idle meanwhile, so both runs see the machine as the load did): one analyzer in a loop, and ``--threads``
analyzers in as many threads (the service's set-up); the service's throughput is compared with the better of
the two. CPU time per image (server process, load client, in-process) is printed too: unlike throughput it
does not depend on what else the machine runs.

The images are generated 640x480 scenes with schematic faces (``emoscope.outputs.demo``); nothing is
downloaded, and every request goes to this machine only.

    python benchmarks/load_service.py [--requests 200] [--concurrency 200] [--threads 2] [--url URL] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from queue import Empty, Queue
from urllib.parse import urlparse

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_images(n: int, faces: int, seed: int = 0) -> list[bytes]:
    """``n`` JPEG-encoded 640x480 scenes with ``faces`` schematic faces each."""
    from emoscope.faces.scenes import make_scene
    from emoscope.outputs.demo import schematic_face

    rng = np.random.default_rng(seed)
    moods = ("smile", "frown", "neutral")
    out = []
    for i in range(n):
        crops = [schematic_face(moods[(i + k) % 3]) for k in range(faces)]
        scene = make_scene(crops, rng, size_range=(96, 160), max_angle=0).image
        ok, buf = cv2.imencode(".jpg", scene, [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        out.append(buf.tobytes())
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, threads: int, data_dir: str) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "emoscope.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--threads",
        str(threads),
        "--data-dir",
        data_dir,
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)


def wait_healthy(url: str, proc: subprocess.Popen | None, seconds: float = 180) -> dict:
    import httpx

    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode}")
        try:
            r = httpx.get(url + "/healthz", timeout=2)
            if r.status_code == 200:
                return r.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{url} did not become healthy within {seconds:.0f} s")


async def fire(url: str, images: list[bytes], n: int, concurrency: int, timeout: float) -> dict:
    """Send ``n`` requests, at most ``concurrency`` at once; latencies in seconds, errors counted."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    sem = asyncio.Semaphore(concurrency)
    lat: list[float] = []
    errors: dict[str, int] = {}
    faces = 0

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:

        async def one(i: int) -> None:
            nonlocal faces
            async with sem:
                t = time.perf_counter()
                try:
                    r = await client.post(
                        "/v1/analyze", files={"image": (f"img{i}.jpg", images[i % len(images)], "image/jpeg")}
                    )
                    if r.status_code == 200:
                        faces += len(r.json()["faces"])
                    else:
                        errors[f"HTTP {r.status_code}"] = errors.get(f"HTTP {r.status_code}", 0) + 1
                except httpx.HTTPError as e:
                    errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                lat.append(time.perf_counter() - t)

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - t0
    lat_ms = np.array(lat) * 1000
    return {
        "requests": n,
        "concurrency": concurrency,
        "seconds": round(wall, 2),
        "throughput_images_per_s": round(n / wall, 2),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "faces_found": faces,
        "latency_ms_p50": round(float(np.percentile(lat_ms, 50)), 1),
        "latency_ms_p95": round(float(np.percentile(lat_ms, 95)), 1),
        "latency_ms_max": round(float(lat_ms.max()), 1),
    }


class InProcess:
    """The in-process pipeline on the same encoded images: decode + detect + align + classify.

    Two set-ups: one analyzer in a loop, and ``threads`` analyzers in as many threads (the service's set-up);
    every ONNX session has one thread (the model is tiny: the face detector dominates, and ONNX Runtime's
    spinning thread pool only competes with the other threads for the cores).
    """

    def __init__(self, images: list[bytes], threads: int):
        from emoscope.api import Analyzer
        from emoscope.tasks.expression.predictor import ExpressionRecognizer

        self.images = images
        self.pool = [Analyzer(ExpressionRecognizer(threads=1)) for _ in range(max(1, threads))]
        for an in self.pool:
            self._work(an, images[0])
        self.runs: list[dict] = []

    @staticmethod
    def _work(an, data: bytes) -> None:
        from emoscope.input.images import read_image_bytes

        an.analyze(read_image_bytes(data))

    def measure(self, n: int) -> dict:
        """One run of ``n`` images in each set-up: images/s and CPU ms per image (all threads)."""
        images = self.images
        c0, t0 = time.process_time(), time.perf_counter()
        for i in range(n):
            self._work(self.pool[0], images[i % len(images)])
        seq, cpu_seq = n / (time.perf_counter() - t0), time.process_time() - c0
        todo: Queue[int] = Queue()
        for i in range(n):
            todo.put(i)

        def worker(an) -> None:
            while True:
                try:
                    i = todo.get_nowait()
                except Empty:
                    return
                self._work(an, images[i % len(images)])

        ths = [threading.Thread(target=worker, args=(an,)) for an in self.pool]
        c0, t0 = time.process_time(), time.perf_counter()
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        par, cpu_par = n / (time.perf_counter() - t0), time.process_time() - c0
        run = {"sequential": seq, "threads": par, "cpu_ms_per_image": 1000 * (cpu_seq + cpu_par) / (2 * n)}
        self.runs.append(run)
        return run

    def summary(self) -> dict:
        """Means over the runs (one before and one after the load, so that both see the machine as it was)."""
        mean = {k: float(np.mean([r[k] for r in self.runs])) for k in self.runs[0]}
        return {
            "images_per_run": None,
            "runs": len(self.runs),
            "sequential_images_per_s": round(mean["sequential"], 2),
            f"threads{len(self.pool)}_images_per_s": round(mean["threads"], 2),
            "best_images_per_s": round(max(mean["sequential"], mean["threads"]), 2),
            "cpu_ms_per_image": round(mean["cpu_ms_per_image"], 1),
        }


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux ``/proc``), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="target a running service on this machine instead of starting one")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=0, help="requests in flight at once (default: all)")
    ap.add_argument(
        "--threads",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="inference threads of the server started (default: as 'emoscope serve')",
    )
    ap.add_argument("--images", type=int, default=16, help="distinct generated images")
    ap.add_argument("--faces", type=int, default=1, help="faces per image")
    ap.add_argument("--inprocess", type=int, default=60, help="images per in-process run (0 = skip)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds one request may take")
    ap.add_argument("--json", action="store_true", help="also print one JSON object on the last line")
    a = ap.parse_args()
    if a.url and urlparse(a.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("this load test only targets a service on this machine (127.0.0.1 / localhost)")
    images = make_images(a.images, a.faces)
    proc = None
    tmp = tempfile.TemporaryDirectory(prefix="emoscope-load-")
    url = a.url
    if url is None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(port, a.threads, tmp.name)
    local = InProcess(images, a.threads) if a.inprocess else None
    try:
        health = wait_healthy(url, proc)
        report: dict = {
            "url": url,
            "server_threads": health.get("threads"),
            "cores": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "image_bytes_mean": int(np.mean([len(b) for b in images])),
            "faces_per_image": a.faces,
        }
        asyncio.run(fire(url, images, len(images), 1, a.timeout))  # warm-up, one at a time
        if local is not None:
            local.measure(a.inprocess)  # the server is idle meanwhile
        cpu0 = process_cpu_seconds(proc.pid) if proc is not None else None
        client0 = time.process_time()
        report["service"] = asyncio.run(fire(url, images, a.requests, a.concurrency or a.requests, a.timeout))
        client_cpu = time.process_time() - client0
        cpu1 = process_cpu_seconds(proc.pid) if proc is not None else None
        if cpu0 is not None and cpu1 is not None:
            report["service"]["server_cpu_ms_per_request"] = round(1000 * (cpu1 - cpu0) / a.requests, 1)
        report["service"]["client_cpu_ms_per_request"] = round(1000 * client_cpu / a.requests, 1)
        if local is not None:
            local.measure(a.inprocess)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        tmp.cleanup()
    s = report["service"]
    print(
        f"service {url} ({report['server_threads']} inference threads, {report['cores']} cores, load average "
        f"{report['load_average_1min']} at the start): {s['requests']} requests, {s['concurrency']} at once, "
        f"{s['seconds']} s: {s['throughput_images_per_s']} images/s, p50 {s['latency_ms_p50']} ms, p95 "
        f"{s['latency_ms_p95']} ms, max {s['latency_ms_max']} ms, errors {s['errors']} "
        f"{s['error_kinds'] or ''}"
    )
    if "server_cpu_ms_per_request" in s:
        print(
            f"  CPU per request: server {s['server_cpu_ms_per_request']} ms, load client "
            f"{s['client_cpu_ms_per_request']} ms"
        )
    if local is not None:
        ip = local.summary()
        ip["images_per_run"] = a.inprocess
        report["in_process"] = ip
        report["service_vs_in_process"] = round(s["throughput_images_per_s"] / ip["best_images_per_s"], 3)
        print(
            f"in-process pipeline (mean of a run before and after the load, {a.inprocess} images each): one "
            f"analyzer {ip['sequential_images_per_s']} images/s, {a.threads} threads "
            f"{ip[f'threads{a.threads}_images_per_s']} images/s, CPU {ip['cpu_ms_per_image']} ms per image; "
            f"service / best in-process = {report['service_vs_in_process']:.2f}"
        )
    if a.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
