"""``inspect``: a certificate for every frame (det of the linear map, distance between the
classes, linking number, Betti numbers per layer), written as CSV, JSON and a plot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from layerlapse._extras import require
from layerlapse._files import check_output, output_path
from layerlapse.app import network as source
from layerlapse.app.request import NetworkOptions, Request, SceneLike, Unpack
from layerlapse.errors import LayerlapseError, choice_error, range_error
from layerlapse.networks.stages import LINEAR_PATHS
from layerlapse.networks.train import Network

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class InspectResult:
    """What :func:`inspect` made: the three files, the certificate's arrays
    (:class:`~layerlapse.networks.certificate.Certificate`) and its one-paragraph summary."""

    paths: tuple[Path, ...]
    certificate: Any
    summary: str
    network: Network
    notes: tuple[str, ...] = ()



def inspect(
    scene: SceneLike,
    out: str | Path | None = None,
    *,
    every: int | None = None,
    fps: float = 30.0,
    seconds_per_stage: float | None = None,
    linear_path: str = "polar",
    **options: Unpack[NetworkOptions],
) -> InspectResult:
    """A certificate for every frame: det and sigma_min of the linear map, the distance
    between the classes and whether they touch, the linking number of their core curves,
    Betti numbers per layer, and the accuracy (see :mod:`layerlapse.networks.certificate`).

    Parameters
    ----------
    scene
        A preset name, scene file, Preset, Scene or :class:`Prepared`.
    out
        The folder for ``certificate.csv``, ``certificate.json`` and ``certificate.png``
        (default ``outputs/<scene>/inspect/``).
    every
        Compute every ``every``-th frame (each stage's first and last frame always); default:
        about 240 frames (:func:`~layerlapse.networks.certificate.default_every`).
    fps, seconds_per_stage
        The timeline, as for :func:`render` (frame numbers and times match the movie's).
    linear_path
        ``polar`` or ``straight`` (shows where the straight path collapses space).
    **options
        Where the network comes from: see :class:`NetworkOptions`.

    Returns
    -------
    InspectResult

    Examples
    --------
    >>> result = ll.inspect("linked-tori")
    >>> print(result.summary); result.certificate.linking
    """
    from layerlapse.app.report import summary_text, write_all
    from layerlapse.networks import certificate as cert_module

    _check_arguments(every, fps, linear_path)
    require("ripser", "inspect: the Betti numbers per layer")
    req = Request.of(scene, None, options)
    folder = _folder(req, out)
    timeline = req.timeline(seconds_per_stage)
    req.check_frame_cap(timeline, fps, field="fps", lower="--fps or --seconds-per-stage")
    prepared = req.prepare()
    deformation = prepared.deform(fps=fps, timeline=timeline, linear_path=linear_path)
    tl = deformation.timeline
    step = every if every is not None else cert_module.default_every(tl.n_frames)
    # the accuracy a picture shows: on held-out samples where the scene keeps some (the digits)
    cert = cert_module.certify(deformation, req.preset.scene, frames=cert_module.frame_selection(tl, step),
                               accuracy=prepared.accuracy)
    starts = [(0, "input")] + [(int(np.argmax(tl.name == k)), tl.stage_names[k]) for k in range(1, len(tl.stage_names))]
    notes = prepared.notes + deformation.plan.notes
    meta = {"scene": req.name, "network": prepared.network.config.describe(), "accuracy": prepared.accuracy,
            "training_accuracy": prepared.network.accuracy,
            "fps": fps, "every": step, "linear_path": linear_path, "n_frames": tl.n_frames, "notes": list(notes)}
    paths = write_all(folder, cert, meta=meta, title=prepared.title, fps=fps, stage_starts=starts)
    return InspectResult(tuple(paths), cert, summary_text(cert), prepared.network, tuple(dict.fromkeys(notes)))


def _check_arguments(every: int | None, fps: float, linear_path: str) -> None:
    """The certificate's own arguments, checked before the scene is read."""
    if linear_path not in LINEAR_PATHS:
        raise choice_error("linear_path", linear_path, LINEAR_PATHS)
    if every is not None and not (isinstance(every, int) and 1 <= every <= 100_000):
        raise LayerlapseError(f"every: {every!r} is out of range; allowed: a whole number of frames, 1 to 100000")
    if not (isinstance(fps, (int, float)) and 0 < fps <= 240):
        raise range_error("fps", fps, "0 < fps <= 240")


def _folder(req: Request, out: str | Path | None) -> Path:
    """The certificate's folder (default ``outputs/<scene>/inspect``), its three files checked."""
    from layerlapse.app.report import FILES

    folder = output_path(out, frames_folder=True) if out is not None else source.OUTPUTS / req.name / "inspect"
    if folder.exists() and not folder.is_dir():
        raise LayerlapseError(f"out: {str(folder)!r} is a file; give a folder for the three certificate files")
    for name in FILES:
        check_output(folder / name)
    return folder
