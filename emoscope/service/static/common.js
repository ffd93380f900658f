// Shared helpers of the emoscope pages (no external library: the pages work offline).
"use strict";

window.emoscope = (function () {
  // Colours per emotion: the same as the server's annotated images (updated from /healthz when it answers).
  const colours = {
    anger: "#dc2828", disgust: "#288c28", fear: "#a03ca0", happiness: "#ffc800", sadness: "#2878c8",
    surprise: "#ff8c00", neutral: "#b4b4b4", contempt: "#3c5078",
    negative: "#dc2828", positive: "#ffc800",
  };

  function colourOf(label) {
    return colours[label] || "#2c6bd6";
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // '{"error": code, "detail": text}' -> a readable line
  function errorText(status, body) {
    if (body && body.error) return `${body.error}: ${body.detail || ""} (HTTP ${status})`;
    return `the server answered HTTP ${status}`;
  }

  // POST a FormData; resolves {status, body}; onUpload(fraction) reports the upload progress.
  function postForm(url, form, onUpload) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.responseType = "text";
      if (onUpload) xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) onUpload(ev.loaded / ev.total); };
      xhr.onload = () => {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        resolve({ status: xhr.status, body: body });
      };
      xhr.onerror = () => reject(new Error("the server cannot be reached"));
      xhr.send(form);
    });
  }

  async function getJSON(url) {
    const r = await fetch(url, { headers: { Accept: "application/json" } });
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    return { status: r.status, body: body };
  }

  // Horizontal bar chart of a {label: probability} object on a canvas (labels in the given order).
  function drawBars(canvas, probabilities, highlight) {
    const labels = Object.keys(probabilities);
    const row = 20, left = 84, right = 48, width = 300;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round((labels.length * row + 4) * dpr);
    canvas.style.width = width + "px";
    canvas.style.height = (labels.length * row + 4) + "px";
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, labels.length * row + 4);
    g.font = "12px system-ui, sans-serif";
    g.textBaseline = "middle";
    labels.forEach((label, i) => {
      const p = Math.max(0, Math.min(1, Number(probabilities[label]) || 0));
      const y = 2 + i * row;
      g.fillStyle = label === highlight ? "#1d232a" : "#5d6875";
      g.textAlign = "right";
      g.fillText(label, left - 6, y + row / 2);
      g.fillStyle = "#eceff3";
      g.fillRect(left, y + 3, width - left - right, row - 6);
      g.fillStyle = colourOf(label);
      g.fillRect(left, y + 3, Math.max(1, p * (width - left - right)), row - 6);
      g.fillStyle = "#1d232a";
      g.textAlign = "left";
      g.fillText((100 * p).toFixed(1) + "%", width - right + 6, y + row / 2);
    });
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", labels.map((l) => `${l} ${(100 * probabilities[l]).toFixed(0)}%`).join(", "));
  }

  // Load the server's colours (so the page and the annotated images agree).
  const ready = getJSON("/healthz").then((r) => {
    if (r.status === 200 && r.body && r.body.colours) Object.assign(colours, r.body.colours);
    return r;
  }).catch(() => ({ status: 0, body: null }));

  return { colours, colourOf, el, errorText, postForm, getJSON, drawBars, ready };
})();
