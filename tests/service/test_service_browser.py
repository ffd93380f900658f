"""End to end in headless Chromium: the page uploads a photo and draws the boxes, labels and bar charts; the
page of a finished video job draws the timelines. Skipped when Chromium, its driver or Selenium is missing."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
webdriver = pytest.importorskip("selenium.webdriver")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from emoscope.api import Analyzer  # noqa: E402
from emoscope.outputs.demo import schematic_face  # noqa: E402
from emoscope.service import ServiceSettings, create_app  # noqa: E402
from emoscope.tasks.expression.predictor import ExpressionRecognizer  # noqa: E402

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Chromium and chromedriver (apt-get install chromium chromium-driver)",
)
FACES = ((40, 60), (380, 220))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """The service on a loopback port (uvicorn in a thread), with the shipped model; yields its base URL."""
    analyzer = Analyzer(ExpressionRecognizer(threads=1))
    app = create_app(
        ServiceSettings(
            data_dir=tmp_path_factory.mktemp("data"), threads=1, analyzer_factory=lambda: analyzer
        )
    )
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(600):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(30)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1100",
        # no network but this machine (loopback bypasses the proxy): a page that loaded anything from
        # elsewhere would break
        "--proxy-server=127.0.0.1:9",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=DRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _scene(path: Path) -> Path:
    canvas = np.full((480, 640, 3), 190, np.uint8)
    for (x, y), mood in zip(FACES, ("smile", "frown"), strict=True):
        canvas[y : y + 192, x : x + 192] = schematic_face(mood)
    assert cv2.imwrite(str(path), canvas, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


def _rgb(hex_colour: str) -> list[int]:
    return [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]


def _wait_state(driver, element_id: str, timeout: float = 60) -> str:
    WebDriverWait(driver, timeout).until(
        lambda d: d.find_element(By.ID, element_id).get_attribute("data-state") in ("done", "error")
    )
    return driver.find_element(By.ID, element_id).get_attribute("data-state")


def _same_origin_only(driver, base: str) -> None:
    names = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert names and all(n.startswith(base) for n in names), names


def test_photo_upload_draws_boxes_labels_and_bars(server, browser, tmp_path):
    browser.get(server + "/")
    WebDriverWait(browser, 30).until(lambda d: "model" in d.find_element(By.ID, "health").text)
    browser.find_element(By.ID, "photo-input").send_keys(str(_scene(tmp_path / "scene.jpg")))
    assert _wait_state(browser, "photo-status") == "done", browser.find_element(By.ID, "photo-status").text
    assert browser.find_element(By.ID, "photo-status").text.startswith("2 faces found")
    result = browser.execute_script("return window.emoscope.last")
    faces = result["faces"]
    assert len(faces) == 2
    assert all(
        abs(f["box"][0] - x) < 40
        for f, (x, _) in zip(sorted(faces, key=lambda f: f["box"][0]), FACES, strict=True)
    )

    # one card per face, naming its label, with a bar chart that has the label's colour in it
    cards = browser.find_elements(By.CSS_SELECTOR, "#faces .face")
    assert len(cards) == 2
    for card, f in zip(cards, faces, strict=True):
        assert f"Face {faces.index(f) + 1}: {f['label']}" in card.text
    colours = [
        browser.execute_script("return window.emoscope.colourOf(arguments[0])", f["label"]) for f in faces
    ]
    bar_pixels = browser.execute_script(
        """
        const want = arguments[0];
        return Array.from(document.querySelectorAll('#faces .face canvas.bars')).map((c, i) => {
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          const [r, g, b] = [1, 3, 5].map(k => parseInt(want[i].slice(k, k + 2), 16));
          let n = 0;
          for (let p = 0; p < d.length; p += 4)
            if (Math.abs(d[p] - r) + Math.abs(d[p + 1] - g) + Math.abs(d[p + 2] - b) < 6) n++;
          return n;
        });""",
        colours,
    )
    assert len(bar_pixels) == 2 and min(bar_pixels) > 20, bar_pixels

    # each face's box is drawn on the photo canvas in its label's colour, where the server found the face
    edges = browser.execute_script(
        """
        const c = document.getElementById('photo-canvas'), s = +c.dataset.scale, g = c.getContext('2d');
        return arguments[0].map(f => [0.25, 0.4, 0.5, 0.6, 0.75].map(t => {
          const x = Math.round(f.box[0] * s), y = Math.round((f.box[1] + t * f.box[3]) * s);
          return Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3));
        }));""",
        faces,
    )
    for pts, colour in zip(edges, colours, strict=True):
        for px in pts:
            assert np.abs(np.array(px) - _rgb(colour)).max() <= 3, (px, colour)
    # and not drawn where there is no face
    blank = browser.execute_script(
        "const g = document.getElementById('photo-canvas').getContext('2d');"
        "return Array.from(g.getImageData(600, 20, 1, 1).data.slice(0, 3));"
    )
    assert np.abs(np.array(blank) - 190).max() <= 6
    browser.save_screenshot(str(tmp_path / "page.png"))
    _same_origin_only(browser, server)


def test_bad_upload_shows_the_error(server, browser, tmp_path):
    browser.get(server + "/")
    bad = tmp_path / "not-a-photo.jpg"
    bad.write_text("plain text")
    browser.find_element(By.ID, "photo-input").send_keys(str(bad))
    assert _wait_state(browser, "photo-status") == "error"
    assert "not_an_image" in browser.find_element(By.ID, "photo-status").text


def test_video_job_page_draws_the_timeline(server, browser, tmp_path):
    path = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (480, 360))
    for i in range(15):
        frame = np.full((360, 480, 3), 150, np.uint8)
        frame[80:272, 120 + 2 * i : 312 + 2 * i] = schematic_face("smile" if i < 8 else "frown")
        w.write(frame)
    w.release()
    browser.get(server + "/")
    browser.find_element(By.ID, "video-input").send_keys(str(path))
    browser.find_element(By.ID, "video-every").clear()
    browser.find_element(By.ID, "video-every").send_keys("3")
    browser.find_element(By.ID, "video-submit").click()
    WebDriverWait(browser, 30).until(lambda d: "/videos/" in d.current_url)
    assert _wait_state(browser, "job-status", timeout=120) == "done", browser.find_element(
        By.ID, "job-status"
    ).text
    assert browser.find_element(By.ID, "job-status").text.startswith("done: 15 frames")
    timelines = browser.find_elements(By.CSS_SELECTOR, "#timelines canvas.timeline")
    assert len(timelines) == 1
    coloured = browser.execute_script("""
        const c = document.querySelector('#timelines canvas.timeline');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let p = 0; p < d.length; p += 4)
          if (Math.max(d[p], d[p + 1], d[p + 2]) - Math.min(d[p], d[p + 1], d[p + 2]) > 60) n++;
        return n;""")
    assert coloured > 100  # the probability lines (grey axes and text are not counted)
    rows = browser.find_elements(By.CSS_SELECTOR, "#face-table tbody tr")
    assert len(rows) == 1
    links = browser.find_element(By.ID, "job-links").text
    assert "frames.csv" in links
    browser.save_screenshot(str(tmp_path / "video.png"))
    _same_origin_only(browser, server)
