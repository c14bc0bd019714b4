"""Cameras: a still frame of reference per layer (the default), one that follows the data,
or a still fit for one moment.

Motion is only seen against something that holds still. By default (``framing="layer"``)
the camera is fixed while a layer's stages play: it frames everything the data does in
that layer (a 3-D scene may orbit at constant distance), and it eases to the next layer's
framing only in the pause between layers, and to the final representation at the start
of the output hold (and from the input's own framing to the first layer's in the second
half of the input hold). During a stage that asks for it (``Stage.camera_zooms``: a flow,
which may spread the data out several times with no box to hold still against) the camera
keeps its direction and centre but zooms evenly with the data, so it is never a speck.
``framing="follow"`` refits every frame (a max-filter followed by a
Gaussian in time, so the camera pulls back before the data grows and never jumps).

Only the class parts are framed (not the grid, which would shrink them); the framing
keeps a band at the top and bottom of the picture free for the labels. 2-D scenes are
seen from the top with an orthographic (parallel) projection, as the essay draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlapse.draw.band import banded_radius, orbit_speed, smoothed_correction, stray_centre
from layerlapse.draw.edge import edge_on_azimuth, head_normal, turn_to_edge
from layerlapse.draw.room import room_view
from layerlapse.draw.source import layers_of
from layerlapse.draw.style import Style
from layerlapse.networks.deformation import FrameSource
from layerlapse.networks.timeline import ease

VIEW_ANGLE = 30.0
#: the data's half-extent fills 1 / FIT of the view's half-height (or half-width)
FIT = 1.3
#: the data sits this fraction of the view's half-height below the middle, between the
#: stage label at the top (about 9% of the height) and the title at the bottom (about 6%)
DROP = 0.04
#: seconds of the output hold over which the camera eases to the final representation
OUTPUT_EASE = 0.75
MARGIN = FIT  # the window's follow mode uses the same fit
#: seconds of the Gaussian that smooths the radius of a zooming stage
ZOOM_SMOOTHING = 0.3


def view_axes(azimuth: np.ndarray, elevation: float, top: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors (F, 3) each: towards the camera, screen up, screen right."""
    azimuth = np.asarray(azimuth, dtype=float).reshape(-1)
    n = azimuth.size
    if top:
        return (np.tile([0.0, 0.0, 1.0], (n, 1)), np.tile([0.0, 1.0, 0.0], (n, 1)), np.tile([1.0, 0.0, 0.0], (n, 1)))
    az, el = np.radians(azimuth), np.radians(elevation)
    towards = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.full(n, np.sin(el))], 1)
    right = np.cross(np.array([0.0, 0.0, 1.0]), towards)
    right /= np.linalg.norm(right, axis=1, keepdims=True)
    up = np.cross(towards, right)
    return towards, up, right


def extent(points: np.ndarray, centre: np.ndarray, towards: np.ndarray, up: np.ndarray, right: np.ndarray,
           aspect: float) -> tuple[np.ndarray, np.ndarray]:
    """Screen half-height that fits points (F, V, 3) around centre (F, 3) -> (F,), and depth half-extent (F,)."""
    rel = points - centre[:, None]
    half_h = np.abs(np.einsum("fvi,fi->fv", rel, up)).max(1)
    half_w = np.abs(np.einsum("fvi,fi->fv", rel, right)).max(1)
    depth = np.abs(np.einsum("fvi,fi->fv", rel, towards)).max(1)
    return np.maximum(half_h, half_w / aspect), depth


def framing(points: np.ndarray, towards: np.ndarray, up: np.ndarray, right: np.ndarray,
            aspect: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre (F, 3), screen half-height to fit (F,) and depth half-extent (F,) of points (F, V, 3)."""
    centre = 0.5 * (points.min(1) + points.max(1))
    return (centre, *extent(points, centre, towards, up, right, aspect))


def _subset(source: FrameSource, subset: np.ndarray | None, max_points: int) -> np.ndarray:
    """At most about ``max_points`` indices of the points to frame (default: all points)."""
    idx = np.arange(source.n_points) if subset is None or len(subset) == 0 else np.asarray(subset)
    return idx[:: max(1, len(idx) // max_points)]


@dataclass(frozen=True)
class CameraPath:
    """Per-frame camera: centre (F, 3), half-height of the data in view (F,), depth (F,), azimuth (F,).

    ``top`` looks down the z axis with y up; ``parallel`` draws with an orthographic
    projection (2-D scenes). ``radius`` is also the scale for tube radii, so curves keep
    their on-screen width. ``room`` (F, 2): the top share a card's panel takes and how far
    the camera has made room below it (:mod:`layerlapse.draw.room`); None for no card.
    """

    centre: np.ndarray
    radius: np.ndarray
    depth: np.ndarray
    azimuth: np.ndarray
    elevation: float
    top: bool
    parallel: bool = False
    room: np.ndarray | None = None

    @classmethod
    def for_movie(cls, source: FrameSource, *, fps: float, style: Style, aspect: float,
                  subset: np.ndarray | None = None) -> CameraPath:
        """The style's framing (``layer`` or ``follow``) for every frame of ``source``; a source
        without still phases (the training clock) is followed."""
        if style.framing == "follow" or getattr(source.timeline, "hold", None) is None:
            return cls.follow(source, fps=fps, style=style, aspect=aspect, subset=subset)
        return cls.layered(source, fps=fps, style=style, aspect=aspect, subset=subset)

    @staticmethod
    def _orbit(source: FrameSource, style: Style, fps: float, hold: np.ndarray | None = None):
        """Azimuth (F,), elevation and whether the view looks from the top; with ``hold`` (F,)
        the orbit turns only while nothing moves (eased in and out), else all along."""
        azimuth0, elevation = style.direction()
        top = source.planar or style.camera == "top"
        orbit = 0.0 if top else style.orbit_degrees_per_second
        speed = np.ones(source.n_frames) if hold is None else orbit_speed(hold, fps)
        azimuth = azimuth0 + orbit * (np.cumsum(speed) - speed[0]) / fps
        return azimuth, elevation, top

    @classmethod
    def follow(cls, source: FrameSource, *, fps: float, style: Style, aspect: float,
               subset: np.ndarray | None = None, max_points: int = 4000, batch: int = 64) -> CameraPath:
        """A camera for every frame of ``source``, following the points ``subset`` (default: all)."""
        idx = _subset(source, subset, max_points)
        azimuth, elevation, top = cls._orbit(source, style, fps)
        towards, up, right = view_axes(azimuth, elevation, top)
        parts = []
        for start in range(0, source.n_frames, batch):
            f = np.arange(start, min(start + batch, source.n_frames))
            parts.append(framing(source.display(f, idx), towards[f], up[f], right[f], aspect))
        centre, radius, depth = (np.concatenate(p) for p in zip(*parts))
        from scipy.ndimage import gaussian_filter1d, maximum_filter1d  # a movie's camera only, not a still's

        sigma = max(style.camera_smoothing * fps, 1e-6)
        # look ahead no further than the Gaussian reaches back, and zoom evenly (in log):
        # a camera that pulls back long before the data grows leaves it tiny for seconds
        width = int(round(sigma)) + 1

        def smooth(x):
            return gaussian_filter1d(maximum_filter1d(x, size=width, mode="nearest"), sigma / 2, mode="nearest")

        radius = np.exp(smooth(np.log(np.maximum(radius, _floor(radius)))))
        centre = gaussian_filter1d(centre, sigma / 2, axis=0, mode="nearest")
        # smoothing may cut a peak: never less than what fits the data around the smoothed centre
        for start in range(0, source.n_frames, batch):
            f = np.arange(start, min(start + batch, source.n_frames))
            need, _ = extent(source.display(f, idx), centre[f], towards[f], up[f], right[f], aspect)
            radius[f] = np.maximum(radius[f], need)
        return cls(centre, np.maximum(radius, _floor(radius)), smooth(depth), azimuth, elevation, top,
                   parallel=source.planar)

    @classmethod
    def layered(cls, source: FrameSource, *, fps: float, style: Style, aspect: float,
                subset: np.ndarray | None = None, max_points: int = 4000, batch: int = 64) -> CameraPath:
        """Still within each layer, easing between layers (see the module docstring)."""
        tl = source.timeline
        F = source.n_frames
        idx = _subset(source, subset, max_points)
        # no turn in the input hold: the input is seen as it was defined, from one side
        moving = ~tl.hold
        lead = np.arange(F) < (np.argmax(moving) if moving.any() else F)
        azimuth, elevation, top = cls._orbit(source, style, fps, tl.hold & ~lead)
        output = tl.name == len(tl.stage_names) - 1
        if not top:  # the output is seen with its decision plane edge-on (draw/edge.py)
            azimuth = turn_to_edge(azimuth, output, _final_normal(source), elevation, fps)
        towards, up, right = view_axes(azimuth, elevation, top)
        group, a, b, alpha = _groups(tl.hold, tl.layer, output, fps)
        keys = np.unique(group[group >= 0])
        batches = [np.arange(s, min(s + batch, F)) for s in range(0, F, batch)]
        # two passes over batches of frames (memory stays flat however long the movie):
        # each group's box gives its centre, then its frames' extents around that centre
        lo = {g: np.full(3, np.inf) for g in keys}
        hi = {g: np.full(3, -np.inf) for g in keys}
        for f in batches:
            P = source.display(f, idx)
            for g in np.unique(group[f][group[f] >= 0]):
                sel = group[f] == g
                lo[g] = np.minimum(lo[g], P[sel].min((0, 1)))
                hi[g] = np.maximum(hi[g], P[sel].max((0, 1)))
        C = {g: 0.5 * (lo[g] + hi[g]) for g in keys}
        Dp = {g: 0.0 for g in keys}
        need = np.zeros(F)  # each grouped frame's half-height around its group's centre
        for f in batches:
            g_of = group[f]
            P = source.display(f, idx)
            for g in np.unique(g_of[g_of >= 0]):
                sel = g_of == g
                r, d = extent(P[sel], np.broadcast_to(C[g], (int(sel.sum()), 3)), towards[f][sel], up[f][sel],
                              right[f][sel], aspect)
                need[f[sel]] = r
                Dp[g] = max(Dp[g], float(d.max()))
        need = np.maximum(need, _floor(need))
        layers = layers_of(source)
        stages = layers.stages if layers is not None else ()
        zooming = np.array([st.camera_zooms for st in stages] + [False], dtype=bool)  # [-1]: the input
        zooms = zooming[tl.stage] if stages else np.zeros(F, bool)
        in_group = _group_radii(need, group, keys, zooms, fps)
        # the eased pauses blend a group's last radius into the next group's first
        first = {g: in_group[np.flatnonzero(group == g)[0]] for g in keys}
        last = {g: in_group[np.flatnonzero(group == g)[-1]] for g in keys}
        Ca, Cb = np.array([C[g] for g in a]), np.array([C[g] for g in b])
        Ra, Rb = np.array([last[g] for g in a]), np.array([first[g] for g in b])
        Da, Db = np.array([Dp[g] for g in a]), np.array([Dp[g] for g in b])
        w = alpha[:, None]
        centre = (1 - w) * Ca + w * Cb
        radius = np.exp((1 - alpha) * np.log(Ra) + alpha * np.log(Rb))  # zoom evenly
        held = (group >= 0) & (a == group) & (b == group)  # in a group and not easing out of it
        radius = np.where(held, in_group, radius)
        depth = (1 - alpha) * Da + alpha * Db
        centre, radius, depth = _banded(source, idx, batches, (centre, radius, depth), (towards, up, right),
                                        aspect, fps, lead=lead)
        return cls(centre, radius, depth, azimuth, elevation, top, parallel=source.planar)

    @classmethod
    def still(cls, points: np.ndarray, *, style: Style, planar: bool, aspect: float,
              normal: np.ndarray | None = None) -> CameraPath:
        """A one-frame camera fitted to points (V, 3), from the style's camera preset; with a
        decision plane's ``normal`` (3,) turned to see it edge-on, as the movie's output is."""
        azimuth, elevation = style.direction()
        top = planar or style.camera == "top"
        if normal is not None and not top:
            azimuth = edge_on_azimuth(normal, elevation, azimuth)
        towards, up, right = view_axes(np.array([azimuth]), elevation, top)
        centre, radius, depth = framing(points[None], towards, up, right, aspect)
        return cls(centre, np.maximum(radius, _floor(radius, points)), depth, np.array([azimuth]), elevation, top,
                   parallel=planar)

    def view_half_height(self, frame: int) -> float:
        """Half the view's height in world units at the focal point."""
        return FIT * float(self.radius[frame])

    def apply(self, camera, frame: int) -> None:
        """Set a VTK camera for ``frame``."""
        r, depth = float(self.radius[frame]), float(self.depth[frame])
        towards, up, _ = view_axes(self.azimuth[frame : frame + 1], self.elevation, self.top)
        half, drop = self.view_half_height(frame), DROP
        if self.room is not None and self.room[frame, 1] > 0:  # a card stands: the data below its panel
            wide, shift = room_view(half, DROP, FIT, float(self.room[frame, 0]))
            w = float(self.room[frame, 1])
            half, drop = float(np.exp((1 - w) * np.log(half) + w * np.log(wide))), (1 - w) * DROP + w * shift
        c = self.centre[frame] + drop * half * up[0]
        dist = half / np.tan(np.radians(VIEW_ANGLE / 2)) + depth
        camera.SetParallelProjection(self.parallel)
        camera.SetParallelScale(half)
        camera.SetViewAngle(VIEW_ANGLE)
        camera.SetFocalPoint(*c)
        camera.SetPosition(*(c + dist * towards[0]))
        camera.SetViewUp(*up[0])
        reach = depth + 2 * r
        camera.SetClippingRange(max(dist - reach, dist * 1e-3), dist + reach)


def _final_normal(source: FrameSource) -> np.ndarray | None:
    """The decision plane's normal in display space at the last frame (None: no plane)."""
    head = getattr(source, "display_head", None)
    return None if head is None or source.planar else head_normal(head(source.n_frames - 1))


def _floor(radius: np.ndarray, points: np.ndarray | None = None) -> float:
    """The smallest radius a camera may have: a millionth of the largest in the movie (or of
    the points' reach), so data squashed to a point stays framed, at any scale: an absolute
    floor framed a scene 1e-9 across as a speck in a blank frame."""
    scale = float(np.max(radius, initial=0.0))
    if points is not None and points.size:
        scale = max(scale, float(np.abs(points).max()))
    return max(scale * 1e-6, 1e-30)


def _group_radii(need: np.ndarray, group: np.ndarray, keys: np.ndarray, zooms: np.ndarray,
                 fps: float) -> np.ndarray:
    """Each grouped frame's radius: its group's largest ``need`` (a still camera), except on
    frames of zooming stages (``zooms``), where it follows ``need`` smoothly (a max-filter and
    a Gaussian over log radius, like ``follow``, never tighter than the data) and joins the
    group's still radius where the zoom starts and ends. need, group, zooms (F,) -> (F,)."""
    radius = np.ones_like(need)
    sigma = max(ZOOM_SMOOTHING * fps, 1e-6)
    for g in keys:
        frames = np.flatnonzero(group == g)
        r = need[frames]
        still = float(r[~zooms[frames]].max()) if (~zooms[frames]).any() else None
        radius[frames] = r.max() if still is None else still
        z = zooms[frames]
        if not z.any():
            continue
        target = np.where(z, r, radius[frames])  # held frames keep the still radius
        from scipy.ndimage import gaussian_filter1d, maximum_filter1d

        log_r = np.log(maximum_filter1d(target, size=int(round(sigma)) + 1, mode="nearest"))
        radius[frames] = np.maximum(np.exp(gaussian_filter1d(log_r, sigma / 2, mode="nearest")), r)
    return radius


def _groups(hold: np.ndarray, layer: np.ndarray, output: np.ndarray, fps: float):
    """Per frame: its framing group (-1: none, a held pause), and the two groups and the
    eased weight its camera blends.

    Moving frames belong to their layer's group, and so does the input hold before them:
    the input is framed as the first layer is (the band of :mod:`~layerlapse.draw.band`
    keeps it large), so the camera never zooms while the input is labelled ``input``. The
    output hold is group ``n + 1``. Each run of held pauses eases from the group before it
    to the group after it; the first :data:`OUTPUT_EASE` seconds of the output hold (at most
    half of it) ease from the last layer's. -> group (F,), a (F,), b (F,), alpha (F,) in [0, 1].
    """
    F = hold.size
    n_out = int(layer.max()) + 1
    group = np.where(hold, -1, layer)
    group[output] = n_out
    moving = np.flatnonzero(~hold)
    lead = np.arange(moving[0] if moving.size else 0)
    group[lead] = layer[moving[0]] if moving.size else 0
    blend = group.copy()
    out = np.flatnonzero(output)
    blend[out[: min(int(round(OUTPUT_EASE * fps)), out.size // 2)]] = -1
    valid = blend >= 0
    pos = np.arange(F)
    last = np.maximum.accumulate(np.where(valid, pos, -1))
    nxt = np.minimum.accumulate(np.where(valid, pos, F)[::-1])[::-1]
    b = np.where(nxt < F, blend[np.minimum(nxt, F - 1)], n_out)
    a = np.where(last >= 0, blend[np.maximum(last, 0)], b)
    gap = np.maximum((nxt - last).astype(float), 1.0)
    alpha = np.where(valid | (last < 0), 0.0, ease((pos - last) / gap, "smoothstep"))
    return group, a, b, alpha


def _own_framing(source: FrameSource, idx: np.ndarray, batches: list[np.ndarray], axes: tuple, aspect: float):
    """The data's own framing per frame: its box's centre (F, 3) and the radius (F,) that fits
    it around that centre."""
    towards, up, right = axes
    centre, own = np.zeros((source.n_frames, 3)), np.zeros(source.n_frames)
    for f in batches:
        c, r, _ = framing(source.display(f, idx), towards[f], up[f], right[f], aspect)
        centre[f], own[f] = c, r
    return centre, own


def _banded(source: FrameSource, idx: np.ndarray, batches: list[np.ndarray], still: tuple, axes: tuple,
            aspect: float, fps: float, *, lead: np.ndarray):
    """The still camera ``still`` (centre (F, 3), radius (F,), depth (F,)) corrected where the
    data leaves its band (:mod:`~layerlapse.draw.band`): the centre pulled towards the data's,
    the radius clipped between what fits the data and SWING times its own; each correction
    smoothed in time, and constant over the input hold ``lead`` (F,). -> centre, radius, depth."""
    towards, up, right = axes
    centre0, radius0, depth0 = still
    own_centre, own = _own_framing(source, idx, batches, axes, aspect)
    # the centre keeps to the data at any scale; the radius keeps the floor (a point stays framed)
    centre = centre0 + smoothed_correction(stray_centre(centre0, own_centre, own) - centre0, fps, lead)
    centre = stray_centre(centre, own_centre, own)  # smoothing may leak a far frame's correction in
    own = np.maximum(own, _floor(own))
    need, deep = np.zeros_like(own), np.zeros_like(own)
    for f in batches:
        need[f], deep[f] = extent(source.display(f, idx), centre[f], towards[f], up[f], right[f], aspect)
    need = np.maximum(need, _floor(need))
    step = np.log(banded_radius(radius0, need, own)) - np.log(radius0)
    # smoothing may overshoot where the data swings fast: the band stays a hard limit
    radius = banded_radius(radius0 * np.exp(smoothed_correction(step, fps, lead)), need, own)
    # the depth term loosens a perspective view's fit (see apply): at most the data's own reach
    depth = np.clip(depth0, deep, np.maximum(deep, own))
    return centre, radius, depth
