"""Timeline plot of a video: each face's expression probabilities over time (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emoscope.outputs.annotate import COLOURS
from emoscope.outputs.files import atomic_path


def _rgb(name: str) -> tuple[float, float, float]:
    b, g, r = COLOURS.get(name, (128, 128, 128))
    return r / 255.0, g / 255.0, b / 255.0


def plot_timeline(
    result, path: str | Path, *, raw: bool = True, max_faces: int = 8, title: str | None = None
) -> Path:
    """Save one panel per face (up to ``max_faces``): smoothed probability of each emotion against time in seconds
    (solid lines), the per-frame raw probabilities (faint, with ``raw``), gaps where the face is not seen, and the
    micro-expression events of the face as shaded spans with their class and confidence. Written atomically.

    result: a :class:`emoscope.tasks.video.results.VideoResult`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ids = result.face_ids
    shown = ids[:max_faces]
    n = max(1, len(shown))
    fig, axes = plt.subplots(n, 1, figsize=(10, 1.2 + 2.0 * n), dpi=100, sharex=True, squeeze=False)
    axes = axes[:, 0]
    t_all = np.array([fr.time for fr in result.frames]) if result.frames else np.zeros(1)
    t0, t1 = float(t_all.min()), float(max(t_all.max(), t_all.min() + 1e-3))
    if not shown:
        axes[0].text(0.5, 0.5, "no face found", ha="center", va="center", transform=axes[0].transAxes)
    for ax, fid in zip(axes, shown, strict=False):
        _, times, probs = result.series(fid)
        if raw:
            _, _, raw_p = result.series(fid, raw=True)
            for k, c in enumerate(result.classes):
                ax.plot(times, raw_p[:, k], color=_rgb(c), lw=0.6, alpha=0.25)
        for k, c in enumerate(result.classes):
            ax.plot(times, probs[:, k], color=_rgb(c), lw=1.6, label=c)
        for ev in result.micro_events:
            if ev.face_id != fid:
                continue
            ax.axvspan(ev.onset_time, ev.offset_time, color="0.3", alpha=0.15, lw=0)
            ax.axvline(ev.apex_time, color="0.3", lw=0.8, ls="--")
            ax.text(ev.apex_time, 1.02, f"micro: {ev.label} {ev.confidence:.2f}", fontsize=7, ha="center",
                    va="bottom", color="0.2")  # fmt: skip
        ax.set_ylim(0, 1.1 if any(e.face_id == fid for e in result.micro_events) else 1.0)
        ax.set_xlim(t0, t1)
        ax.set_ylabel(f"face {fid}\nprobability")
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("time (s)")
    if shown:
        axes[0].legend(ncol=min(8, len(result.classes)), fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.02),
                       frameon=False)  # fmt: skip
    extra = f" (faces {', '.join(map(str, ids[max_faces:]))} not shown)" if len(ids) > max_faces else ""
    name = Path(str(result.file)).name if result.file else "video"
    default_title = f"{name}: expression over time, smoothed" + (" (faint: per frame)" if raw else "")
    fig.suptitle((title or default_title) + extra,
                 fontsize=9)  # fmt: skip
    try:
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return Path(path)
