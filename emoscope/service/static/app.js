// The emoscope main page: photos and webcam frames -> faces, labels and probability bars; video jobs; micro pairs.
"use strict";

(function () {
  const E = window.emoscope;
  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------------------------------------------ health
  E.ready.then((r) => {
    const h = $("health");
    if (r.status !== 200 || !r.body) {
      h.textContent = "the server does not answer /healthz";
      h.className = "error";
      return;
    }
    const m = r.body.models;
    h.textContent = `expression model ${m.expression.file} (${m.expression.classes.length} emotions), ` +
      `${r.body.threads} inference thread${r.body.threads === 1 ? "" : "s"}, uploads up to ${(r.body.limits.max_upload_bytes / 1048576).toFixed(0)} MiB`;
    if (!m.micro) {
      $("micro-status").textContent = m.micro_problem || "no micro-expression model on this server";
      $("micro-submit").disabled = true;
    }
    if (!m.video) {
      $("video-status").textContent = m.video_problem || "video analysis is not available on this server";
      $("video-input").disabled = true;
    }
  });

  // ------------------------------------------------------------------------------------------------ photos
  function setStatus(node, text, state) {
    node.textContent = text;
    node.dataset.state = state;
    node.className = state === "error" ? "error" : "";
  }

  function pct(p) {
    return (100 * p).toFixed(0) + "%";
  }

  // Draw the picture and each face's box and label on the canvas; one card with a bar chart per face.
  function drawResult(source, result) {
    const canvas = $("photo-canvas");
    const w = result.width || (source ? source.width : 640);
    const h = result.height || (source ? source.height : 480);
    const scale = Math.min(1, 800 / w, 800 / h);
    canvas.width = Math.max(1, Math.round(w * scale));
    canvas.height = Math.max(1, Math.round(h * scale));
    canvas.dataset.scale = String(scale);
    const g = canvas.getContext("2d");
    g.fillStyle = "#808080";
    g.fillRect(0, 0, canvas.width, canvas.height);
    if (source) g.drawImage(source, 0, 0, canvas.width, canvas.height);
    g.lineWidth = 3;
    g.font = "bold 14px system-ui, sans-serif";
    g.textBaseline = "bottom";
    const cards = $("faces");
    cards.replaceChildren();
    result.faces.forEach((f, i) => {
      const [x, y, bw, bh] = f.box.map((v) => v * scale);
      const colour = E.colourOf(f.label);
      g.strokeStyle = colour;
      g.strokeRect(x, y, bw, bh);
      const text = `#${i + 1} ${f.label} ${pct(f.probabilities[f.label])}`;
      const tw = g.measureText(text).width + 8;
      const ty = y >= 20 ? y : y + bh + 20;
      g.fillStyle = colour;
      g.fillRect(x - 1.5, ty - 20, tw, 20);
      g.fillStyle = "#000";
      g.fillText(text, x + 3, ty - 3);

      const card = E.el("div", { class: "face", "data-label": f.label });
      const title = E.el("h3");
      const sw = E.el("span", { class: "swatch" });
      sw.style.background = colour;
      title.append(sw, `Face ${i + 1}: ${f.label} (${pct(f.probabilities[f.label])})`);
      card.append(title);
      const extra = [];
      if (f.compound && f.compound !== f.label) extra.push(`compound: ${f.compound}`);
      if (typeof f.valence === "number") extra.push(`valence ${f.valence.toFixed(2)}`);
      if (typeof f.arousal === "number") extra.push(`arousal ${f.arousal.toFixed(2)}`);
      extra.push(`box ${f.box.join(", ")}, detection ${f.score.toFixed(2)}`);
      card.append(E.el("div", { class: "muted" }, extra.join(" · ")));
      const bars = E.el("canvas", { class: "bars" });
      card.append(bars);
      E.drawBars(bars, f.probabilities, f.label);
      cards.append(card);
    });
    if (!result.faces.length) cards.append(E.el("p", { class: "muted" }, "No face found."));
  }

  async function analyse(blob, name, source) {
    const status = $("photo-status");
    setStatus(status, "analysing…", "busy");
    const form = new FormData();
    form.append("image", blob, name);
    const url = "/v1/analyze" + ($("aligned").checked ? "?aligned=true" : "");
    const t0 = performance.now();
    let r;
    try {
      r = await E.postForm(url, form);
    } catch (e) {
      setStatus(status, e.message, "error");
      return null;
    }
    if (r.status !== 200 || !r.body) {
      setStatus(status, E.errorText(r.status, r.body), "error");
      $("faces").replaceChildren();
      return null;
    }
    drawResult(source, r.body);
    E.last = r.body;
    const n = r.body.faces.length;
    setStatus(status, `${n} face${n === 1 ? "" : "s"} found in ${(performance.now() - t0).toFixed(0)} ms`, "done");
    return r.body;
  }

  function loadImage(file) {
    return new Promise((resolve) => {
      const url = URL.createObjectURL(file);
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => resolve(null); // the browser cannot show it; the server may still read it
      img.src = url;
    });
  }

  $("photo-input").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    const img = await loadImage(file);
    await analyse(file, file.name, img);
  });
  $("aligned").addEventListener("change", () => { $("photo-input").value = ""; });

  // ------------------------------------------------------------------------------------------------ webcam
  let stream = null;
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) $("webcam-controls").hidden = false;

  async function captureOnce() {
    const video = $("webcam");
    if (!stream || !video.videoWidth) return;
    const c = document.createElement("canvas");
    c.width = video.videoWidth;
    c.height = video.videoHeight;
    c.getContext("2d").drawImage(video, 0, 0);
    const blob = await new Promise((res) => c.toBlob(res, "image/jpeg", 0.9));
    await analyse(blob, "webcam.jpg", c);
    if ($("webcam-live").checked && stream) setTimeout(captureOnce, 0);
  }

  $("webcam-start").addEventListener("click", async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    } catch (e) {
      setStatus($("photo-status"), `the webcam cannot be used: ${e.message}`, "error");
      return;
    }
    const video = $("webcam");
    video.srcObject = stream;
    video.hidden = false;
    for (const id of ["webcam-capture", "webcam-live", "webcam-stop"]) $(id).disabled = false;
    $("webcam-start").disabled = true;
  });
  $("webcam-capture").addEventListener("click", captureOnce);
  $("webcam-live").addEventListener("change", () => { if ($("webcam-live").checked) captureOnce(); });
  $("webcam-stop").addEventListener("click", () => {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    $("webcam").hidden = true;
    $("webcam-live").checked = false;
    for (const id of ["webcam-capture", "webcam-live", "webcam-stop"]) $(id).disabled = true;
    $("webcam-start").disabled = false;
  });

  // ------------------------------------------------------------------------------------------------ videos
  $("video-input").addEventListener("change", () => { $("video-submit").disabled = !$("video-input").files.length; });
  $("video-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = $("video-input").files[0];
    if (!file) return;
    const form = new FormData();
    form.append("video", file, file.name);
    const bar = $("video-upload");
    bar.hidden = false;
    bar.value = 0;
    const status = $("video-status");
    setStatus(status, "uploading…", "busy");
    $("video-submit").disabled = true;
    try {
      const every = Math.max(1, parseInt($("video-every").value, 10) || 5);
      const r = await E.postForm(`/v1/videos?every=${every}`, form, (f) => { bar.value = f; });
      if (r.status === 202 && r.body) {
        setStatus(status, "uploaded; opening the job page…", "done");
        window.location.href = r.body.links.page;
        return;
      }
      setStatus(status, E.errorText(r.status, r.body), "error");
    } catch (e) {
      setStatus(status, e.message, "error");
    } finally {
      bar.hidden = true;
      $("video-submit").disabled = false;
    }
  });

  async function listJobs() {
    const r = await E.getJSON("/v1/videos?limit=10").catch(() => null);
    const ul = $("jobs");
    ul.replaceChildren();
    if (!r || r.status !== 200 || !r.body.jobs.length) {
      ul.append(E.el("li", { class: "muted" }, "none yet"));
      return;
    }
    for (const j of r.body.jobs) {
      const li = E.el("li");
      li.append(E.el("a", { href: j.links.page }, j.file || j.id));
      const p = j.progress === null ? "" : ` ${(100 * j.progress).toFixed(0)}%`;
      li.append(` — ${j.status}${j.status === "running" ? p : ""}`);
      ul.append(li);
    }
  }
  listJobs();

  // ------------------------------------------------------------------------------------------------- micro
  $("micro-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const onset = $("micro-onset").files[0], apex = $("micro-apex").files[0];
    const status = $("micro-status");
    if (!onset || !apex) {
      setStatus(status, "choose an onset and an apex frame", "error");
      return;
    }
    const form = new FormData();
    form.append("onset", onset, onset.name);
    form.append("apex", apex, apex.name);
    setStatus(status, "comparing…", "busy");
    const r = await E.postForm("/v1/micro", form).catch((e) => ({ status: 0, body: { error: "network", detail: e.message } }));
    const out = $("micro-result");
    out.replaceChildren();
    if (r.status !== 200) {
      setStatus(status, E.errorText(r.status, r.body), "error");
      return;
    }
    setStatus(status, `${r.body.label} (${pct(r.body.probabilities[r.body.label])}), motion ${r.body.motion.toFixed(3)} px` +
      (r.body.motion < 0.1 ? ": the frames hardly differ, the reading means little" : ""), "done");
    const bars = E.el("canvas", { class: "bars" });
    out.append(bars);
    E.drawBars(bars, r.body.probabilities, r.body.label);
  });
})();
