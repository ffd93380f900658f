// The page of one video job: progress while it runs, then each face's probability timeline drawn on a canvas.
"use strict";

(function () {
  const E = window.emoscope;
  const $ = (id) => document.getElementById(id);
  const jobId = window.location.pathname.split("/").filter(Boolean).pop();
  const api = `/v1/videos/${encodeURIComponent(jobId)}`;

  function setStatus(text, state) {
    const s = $("job-status");
    s.textContent = text;
    s.dataset.state = state;
    s.className = state === "error" ? "error" : "";
  }

  // One canvas per face: x = time (s), y = probability, one line per emotion; gaps where the face is not seen.
  function drawTimeline(canvas, times, series, classes, t0, t1) {
    const width = Math.max(320, Math.min(1060, canvas.parentElement.clientWidth || 900)), height = 180;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    canvas.style.height = height + "px";
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    const L = 40, R = 10, T = 8, B = 24;
    const X = (t) => L + ((t - t0) / Math.max(t1 - t0, 1e-6)) * (width - L - R);
    const Y = (p) => T + (1 - p) * (height - T - B);
    g.fillStyle = "#fff";
    g.fillRect(0, 0, width, height);
    g.strokeStyle = "#e3e7ec";
    g.fillStyle = "#5d6875";
    g.font = "11px system-ui, sans-serif";
    g.lineWidth = 1;
    for (const p of [0, 0.25, 0.5, 0.75, 1]) {
      g.beginPath(); g.moveTo(L, Y(p)); g.lineTo(width - R, Y(p)); g.stroke();
      g.textAlign = "right"; g.textBaseline = "middle"; g.fillText(p.toFixed(2), L - 4, Y(p));
    }
    const step = Math.pow(10, Math.floor(Math.log10(Math.max(t1 - t0, 1e-3)))) || 1;
    const tick = (t1 - t0) / step > 5 ? step : step / 2;
    g.textAlign = "center"; g.textBaseline = "top";
    for (let t = Math.ceil(t0 / tick) * tick; t <= t1 + 1e-9; t += tick) g.fillText(`${+t.toFixed(3)} s`, X(t), height - B + 6);
    classes.forEach((c, k) => {
      g.strokeStyle = E.colourOf(c);
      g.lineWidth = 1.6;
      g.beginPath();
      let pen = false;
      for (let i = 0; i < times.length; i++) {
        const p = series[i] ? series[i][k] : null;
        if (p === null || p === undefined) { pen = false; continue; }
        if (pen) g.lineTo(X(times[i]), Y(p)); else g.moveTo(X(times[i]), Y(p));
        pen = true;
      }
      g.stroke();
    });
  }

  function showResult(job) {
    const res = job.result;
    const classes = res.classes || [];
    $("timeline-section").hidden = false;
    const legend = $("legend");
    legend.replaceChildren();
    for (const c of classes) {
      const item = E.el("span");
      const sw = E.el("span", { class: "swatch" });
      sw.style.background = E.colourOf(c);
      item.append(sw, c);
      legend.append(item);
    }
    const frames = res.frames || [];
    const times = frames.map((f) => f.time);
    const t0 = times.length ? times[0] : 0, t1 = times.length ? times[times.length - 1] : 1;
    const box = $("timelines");
    box.replaceChildren();
    const faces = res.faces || [];
    if (!faces.length) box.append(E.el("p", { class: "muted" }, "No face was found in this video."));
    for (const face of faces) {
      const series = frames.map((fr) => {
        const f = fr.faces.find((x) => x.face_id === face.face_id);
        return f ? classes.map((c) => f.probabilities[c]) : null;
      });
      box.append(E.el("h3", {}, `Face ${face.face_id}: mostly ${face.label}`));
      const canvas = E.el("canvas", { class: "timeline", "data-face": String(face.face_id),
        "aria-label": `probabilities of face ${face.face_id} over time` });
      box.append(canvas);
      drawTimeline(canvas, times, series, classes, t0, t1);
    }
    const tbody = $("face-table").querySelector("tbody");
    tbody.replaceChildren();
    for (const f of faces) {
      const top = Object.entries(f.mean_probabilities).sort((a, b) => b[1] - a[1]).slice(0, 3)
        .map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`).join(", ");
      const tr = E.el("tr");
      for (const v of [f.face_id, f.label, f.first_time.toFixed(2), f.last_time.toFixed(2), f.frames, top]) tr.append(E.el("td", {}, v));
      tbody.append(tr);
    }
    const outputs = res.outputs || [];
    if (outputs.includes("timeline.png")) {
      const img = $("timeline-png");
      img.src = job.links.timeline_png;
      img.hidden = false;
    }
    const links = $("job-links");
    links.replaceChildren();
    for (const [name, key] of [["frames.csv", "frames_csv"], ["result.json", "result_json"], ["timeline.png", "timeline_png"]]) {
      if (!outputs.includes(name)) continue;
      links.append(E.el("a", { href: job.links[key], download: "" }, name), " ");
    }
  }

  async function poll() {
    let r;
    try {
      r = await E.getJSON(api);
    } catch (e) {
      setStatus("the server cannot be reached; retrying…", "busy");
      setTimeout(poll, 3000);
      return;
    }
    if (r.status !== 200) {
      setStatus(E.errorText(r.status, r.body), "error");
      return;
    }
    const job = r.body;
    $("job-file").textContent = `${job.file || "video"} · job ${job.id}`;
    const bar = $("job-progress");
    if (job.status === "queued" || job.status === "running") {
      const p = job.progress;
      bar.hidden = false;
      if (p === null) bar.removeAttribute("value"); else bar.value = p;
      setStatus(job.status === "queued" ? "waiting for its turn…" :
        `analysing: ${job.frames_done}${job.frames_total ? " / " + job.frames_total : ""} frames`, "busy");
      setTimeout(poll, 1000);
      return;
    }
    bar.hidden = true;
    if (job.status !== "done") {
      setStatus(`${job.status}: ${job.detail || job.error || ""}`, "error");
      return;
    }
    const full = await E.getJSON(`${api}?frames=true`);
    if (full.status !== 200) {
      setStatus(E.errorText(full.status, full.body), "error");
      return;
    }
    const res = full.body.result;
    setStatus(`done: ${res.frames_analysed} frames, ${res.duration.toFixed(1)} s, ${res.faces.length} face(s)` +
      (res.complete ? "" : ` (incomplete: ${res.problems.join("; ")})`), "done");
    await E.ready;
    showResult(full.body);
  }
  poll();
})();
