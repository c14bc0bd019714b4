"""``layerlapse inspect``'s output: a :class:`~layerlapse.networks.certificate.Certificate`
as ``certificate.csv``, ``certificate.json``, ``certificate.png`` and a one-paragraph summary.

Files are written atomically (:func:`~layerlapse._files.atomic_output`); matplotlib is
imported only to draw the plot (Agg backend, no display).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from layerlapse._files import atomic_output
from layerlapse.networks.certificate import Certificate

FILES = ("certificate.csv", "certificate.json", "certificate.png")


def _num(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}g}"


def summary(cert: Certificate) -> dict[str, Any]:
    """The certificate's headline numbers (JSON-ready: NaN becomes None)."""
    linear = cert.linear_stage >= 0
    link = cert.linking[~np.isnan(cert.linking)]
    out: dict[str, Any] = {
        "frames": int(cert.frames.size),
        "det_min": float(cert.det.min()),
        "det_positive": bool((cert.det > 0).all()),
        "sigma_min_min": float(cert.sigma_min.min()),
        "linear_frames": int(linear.sum()),
        "straight_crossings": list(cert.straight_crossings),
        "distance_min": None if np.isnan(cert.distance).all() else float(np.nanmin(cert.distance)),
        "intersect_frames": int(cert.intersect.sum()),
        "linking_values": sorted({round(float(v)) for v in link}),
        "linking_max_rounding": float(np.abs(link - np.round(link)).max()) if link.size else None,
        "linking_frames": int(link.size),
        "linking_undefined_frames": int(cert.frames.size - link.size),
        "accuracy": cert.accuracy,
    }
    if out["distance_min"] is not None:
        k = int(np.nanargmin(cert.distance))
        out["distance_min_time"] = float(cert.time[k])
        out["distance_min_stage"] = cert.stage_name(int(cert.stage[k]))
    return out


def summary_text(cert: Certificate) -> str:
    """One paragraph: ``det p(t) > 0 on every frame (min 0.21); classes never touch (min
    distance 0.043 at 12.3 s, layer2.tanh); linking number +1 on every 3-D frame; ...``."""
    s = summary(cert)
    parts = []
    if s["det_positive"]:
        parts.append(f"det p(t) > 0 on every frame (min {_num(s['det_min'])}, sigma_min >= {_num(s['sigma_min_min'])})")
    else:
        bad = cert.det <= 0
        first = int(np.flatnonzero(bad)[0])
        parts.append(f"det p(t) <= 0 on {int(bad.sum())} of {s['frames']} frames, from {cert.time[first]:.2f} s "
                     f"({cert.stage_name(int(cert.stage[first]))}; min {_num(s['det_min'])}): space collapses there")
    if s["straight_crossings"]:
        parts.append(f"the straight path passes through det = 0 in {', '.join(s['straight_crossings'])}")
    if s["distance_min"] is None:
        parts.append("distance: n/a (it is measured between classes' meshes and curves, and fewer than two have any)")
    elif s["intersect_frames"]:
        first = int(np.flatnonzero(cert.intersect)[0])
        why = (" (every stage is a homeomorphism, so the true classes stay apart: there the squeezed mesh is "
               "coarser than the gap)" if cert.homeomorphic else "")
        parts.append(f"the classes' meshes touch or cross on {s['intersect_frames']} of {s['frames']} frames, from "
                     f"{cert.time[first]:.2f} s ({cert.stage_name(int(cert.stage[first]))}){why}")
    else:
        parts.append(f"classes never touch (min distance {_num(s['distance_min'])} at {s['distance_min_time']:.2f} s, "
                     f"{s['distance_min_stage']})")
    if not s["linking_frames"]:
        parts.append("linking number: n/a (the scene has no closed core curves)" if s["linking_undefined_frames"] == s["frames"]
                     else "linking number: n/a")
    else:
        values = "/".join(f"{v:+d}" for v in s["linking_values"])
        where = "every 3-D frame" if len(s["linking_values"]) == 1 else "the 3-D frames (it changes!)"
        rest = (f"; n/a on {s['linking_undefined_frames']} frames (the cores leave R^3, are flattened to a plane, "
                "or meet)" if s["linking_undefined_frames"] else "")
        parts.append(f"linking number {values} on {where}{rest}")
    betti = "; ".join(f"{layer.name} " + " ".join(f"{b0}/{b1}" for b0, b1 in zip(layer.b0, layer.b1))
                      for layer in cert.layers)
    parts.append(f"b0/b1 per layer ({', '.join(cert.class_names)}), as the samples show them (features lasting "
                 f"a tenth of the class's size; not the manifold's topology): {betti}")
    if cert.accuracy is not None:
        parts.append(f"accuracy {100 * cert.accuracy:.1f}%")
    return "; ".join(parts) + "."


def _cell(x: Any) -> str:
    if isinstance(x, (bool, np.bool_)):
        return "1" if x else "0"
    if isinstance(x, (float, np.floating)):
        return "n/a" if math.isnan(x) else repr(float(x))
    return str(x)


def write_csv(path: Path, cert: Certificate) -> None:
    """One row per computed frame; undefined values are ``n/a``."""
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["frame", "time_s", "stage", "t", "linear_stage", "det", "sigma_min", "distance", "intersect",
                    "linking"])
        for k in range(cert.frames.size):
            lin = int(cert.linear_stage[k])
            w.writerow([_cell(v) for v in (
                int(cert.frames[k]), float(cert.time[k]), cert.stage_name(int(cert.stage[k])), float(cert.t[k]),
                cert.stage_name(lin) if lin >= 0 else "none", float(cert.det[k]), float(cert.sigma_min[k]),
                float(cert.distance[k]), bool(cert.intersect[k]), float(cert.linking[k]))])


def _json_list(a: np.ndarray) -> list:
    return [None if isinstance(v, float) and math.isnan(v) else v for v in a.tolist()]


def write_json(path: Path, cert: Certificate, meta: dict[str, Any]) -> None:
    """Per-frame arrays, the per-layer Betti table, the summary, and ``meta`` (scene, network, options)."""
    doc = {
        **meta,
        "summary": {**summary(cert), "text": summary_text(cert)},
        "frames": {
            "frame": cert.frames.tolist(), "time_s": cert.time.tolist(),
            "stage": [cert.stage_name(int(s)) for s in cert.stage], "t": cert.t.tolist(),
            "linear_stage": [cert.stage_name(int(s)) if s >= 0 else None for s in cert.linear_stage],
            "det": cert.det.tolist(), "sigma_min": cert.sigma_min.tolist(), "distance": _json_list(cert.distance),
            "intersect": cert.intersect.tolist(), "linking": _json_list(cert.linking),
        },
        "layers": [{"name": layer.name, "frame": layer.frame, "classes": [
            {"class": name, "b0": b0, "b1": b1, "epsilon": eps}
            for name, b0, b1, eps in zip(cert.class_names, layer.b0, layer.b1, layer.epsilon)]} for layer in cert.layers],
    }
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=1, allow_nan=False))


def write_plot(path: Path, cert: Certificate, *, title: str, fps: float, stage_starts: list[tuple[int, str]]) -> None:
    """One panel per quantity against time, stage boundaries as faint lines, layer names on top.

    ``stage_starts``: (first frame, stage name) of every stage of the timeline (``input`` first).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 10), dpi=110, layout="constrained")
    axes = fig.subplots(4, 1, sharex=True, gridspec_kw={"height_ratios": [1.2, 1, 0.8, 1]})
    t = cert.time
    end = max(float(t.max()), stage_starts[-1][0] / fps) if t.size else 1.0
    for ax in axes:
        for frame, _ in stage_starts[1:]:
            ax.axvline(frame / fps, color="0.85", lw=0.8, zorder=0)
        ax.grid(axis="y", color="0.93")
        ax.set_xlim(0, end)
    layers = _layer_spans(stage_starts, fps, end)
    top = axes[0].secondary_xaxis("top")
    top.set_xticks([0.5 * (a + b) for _, a, b in layers], [name for name, _, _ in layers], fontsize=8)
    top.tick_params(length=0)

    _det_panel(axes[0], cert)
    _distance_panel(axes[1], cert)
    _linking_panel(axes[2], cert)
    _betti_panel(axes[3], cert, fps, end)
    axes[3].set_xlabel("time in the movie (s)")
    fig.suptitle(title_line(title, cert), fontsize=12)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")


def _det_panel(ax: Any, cert: Certificate) -> None:
    """det and sigma_min of the linear map being played."""
    t = cert.time
    ax.axhline(0, color="#D55E00", lw=1.2)
    ax.plot(t, cert.det, color="#0072B2", lw=1.8, label="det p(t)")
    ax.plot(t, cert.sigma_min, color="#009E73", lw=1.2, ls="--", label="σ_min p(t)")
    ax.set_ylim(min(-0.1, float(cert.det.min()) - 0.1), max(1.1, float(cert.det.max()) * 1.05))
    verdict = "stays above 0: no frame collapses space" if (cert.det > 0).all() else "reaches 0: space collapses"
    ax.set_title(f"the linear map being played (held after its stage): det {verdict}", loc="left", fontsize=10)
    ax.legend(loc="upper right", fontsize=8, frameon=False)


def _distance_panel(ax: Any, cert: Certificate) -> None:
    """The closest distance between the classes' meshes, and where they touch."""
    t = cert.time
    heading = "closest distance between the classes' meshes (log scale; × where they touch or cross)"
    d = cert.distance
    if (d > 0).any():
        ax.set_yscale("log")
        lo, hi = float(d[d > 0].min()), float(np.nanmax(d))
        ax.set_ylim(lo / 3, hi * 2)
        ax.plot(t, np.where(d > 0, d, np.nan), color="#CC79A7", lw=1.8)
        if cert.intersect.any():
            ax.plot(t[cert.intersect], np.full(int(cert.intersect.sum()), lo / 2), "x", color="#D55E00", ms=4,
                    label="meshes touch or cross")
            ax.legend(loc="upper right", fontsize=8, frameon=False)
    else:
        heading += ": n/a" if np.isnan(d).all() else ": 0 on every frame"
    ax.set_title(heading, loc="left", fontsize=10)


def _linking_panel(ax: Any, cert: Certificate) -> None:
    """The linking number of the classes' core curves, where it is defined."""
    t = cert.time
    defined = ~np.isnan(cert.linking)
    if defined.any():
        ax.plot(t, cert.linking, color="#E69F00", lw=2.2, drawstyle="steps-post")
        lo, hi = math.floor(float(np.nanmin(cert.linking))), math.ceil(float(np.nanmax(cert.linking)))
        ax.set_ylim(min(lo, 0) - 0.6, max(hi, 1) + 0.6)
        ax.set_yticks(range(min(lo, 0), max(hi, 1) + 1))
        _shade(ax, t, ~defined, "n/a")
        ax.set_title("linking number of the classes' core curves: a whole number that no homeomorphism of R^3 "
                     "can change", loc="left", fontsize=10)
    else:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "n/a: the classes have no closed core curves", transform=ax.transAxes, ha="center",
                va="center", color="0.4")
        ax.set_title("linking number of the classes' core curves", loc="left", fontsize=10)


def _betti_panel(ax: Any, cert: Certificate, fps: float, end: float) -> None:
    """Betti numbers of each class's samples at the input and each layer's end."""
    colors = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
    x = np.array([layer.frame / fps for layer in cert.layers])
    for c, name in enumerate(cert.class_names):
        b0 = [layer.b0[c] for layer in cert.layers]
        b1 = [layer.b1[c] for layer in cert.layers]
        dx = (c - 0.5 * (len(cert.class_names) - 1)) * 0.004 * end
        ax.plot(x + dx, b0, "o-", color=colors[c % 4], lw=1, ms=6, label=f"{name}: b0 (pieces)")
        ax.plot(x + dx, b1, "s--", color=colors[c % 4], lw=1, ms=5, mfc="white", label=f"{name}: b1 (loops)")
    hi = max([max(layer.b0 + layer.b1) for layer in cert.layers] + [2])
    ax.set_ylim(-0.4, hi + 0.6)
    ax.set_yticks(range(0, hi + 1))
    ax.set_title("pieces and loops the samples show at their own spacing, at the input and each layer's end\n"
                 "(not the manifold's topology: a hole squeezed thinner than the samples' spacing closes for them)",
                 loc="left", fontsize=10)
    ax.legend(loc="upper left", fontsize=7, frameon=False, ncol=2)


def title_line(title: str, cert: Certificate) -> str:
    return title + ("" if cert.accuracy is None else f" · accuracy {100 * cert.accuracy:.1f}%")


def _layer_spans(stage_starts: list[tuple[int, str]], fps: float, end: float) -> list[tuple[str, float, float]]:
    """(``input`` / ``layer2`` / ``output``, start s, end s) of each layer of the timeline."""
    spans: list[tuple[str, float, float]] = []
    bounds = [f / fps for f, _ in stage_starts] + [end]
    for (_, name), a, b in zip(stage_starts, bounds[:-1], bounds[1:]):
        layer = name.split(".")[0]
        if spans and spans[-1][0] == layer:
            spans[-1] = (layer, spans[-1][1], b)
        else:
            spans.append((layer, a, b))
    return spans


def _shade(ax: Any, t: np.ndarray, mask: np.ndarray, label: str) -> None:
    """Grey bands where ``mask`` holds (runs of computed frames), labelled once."""
    if not mask.any():
        return
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(int), 0]))
    for k, (a, b) in enumerate(zip(edges[0::2], edges[1::2])):
        ax.axvspan(t[a], t[min(b, t.size - 1)], color="0.92", zorder=0)
        if k == 0:
            ax.text(0.5 * (t[a] + t[min(b, t.size - 1)]), 0, label, ha="center", va="center", color="0.45", fontsize=9)


def write_all(folder: Path, cert: Certificate, *, meta: dict[str, Any], title: str, fps: float,
              stage_starts: list[tuple[int, str]]) -> list[Path]:
    """The three files into ``folder``; -> their paths."""
    csv_path, json_path, png_path = (folder / name for name in FILES)
    write_csv(csv_path, cert)
    write_json(json_path, cert, meta)
    write_plot(png_path, cert, title=title, fps=fps, stage_starts=stage_starts)
    return [csv_path, json_path, png_path]
