"""``render``: a scene's deformation through every layer of its network, as a movie
(or the last representation as a network trains, ``over="training"``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from layerlapse._files import check_folder_writable, check_output, output_path
from layerlapse.app import network as source
from layerlapse.app.request import NetworkOptions, Prepared, Request, SceneLike, Unpack
from layerlapse.app.subtitles import check_subtitles, write_subtitles
from layerlapse.draw.words import CAPTIONS, Cards, card_timeline, fallback_cards
from layerlapse.errors import LayerlapseError, choice_error, range_error
from layerlapse.networks.model import NetworkConfig
from layerlapse.networks.stages import LINEAR_PATHS
from layerlapse.networks.timeline import Timeline, TimelineConfig
from layerlapse.networks.train import Network

if TYPE_CHECKING:
    from layerlapse.draw.style import Style


#: the clocks a movie can run on
CLOCKS = ("depth", "training")
#: what renders a movie's frames into its file: called as render.movie.write_movie is
MovieWriter = Callable[..., Path]


@dataclass(frozen=True)
class RenderResult:
    """What :func:`render` made: the movie, the network, the animated plan's notes."""

    path: Path
    network: Network
    deformation: Any
    trajectory: Path | None = None
    model_notes: tuple[str, ...] = ()
    subtitles: tuple[Path, ...] = ()

    @property
    def notes(self) -> tuple[str, ...]:
        plan = getattr(self.deformation, "plan", None)  # a training-clock movie has no layer plan
        notes = self.model_notes + (plan.notes if plan is not None else ())
        return tuple(dict.fromkeys(notes))  # a user's model and the plan may say the same thing


def render(
    scene: SceneLike,
    out: str | Path | None = None,
    *,
    quality: str = "medium",
    size: tuple[int, int] | str | None = None,
    fps: float | None = None,
    seconds_per_stage: float | None = None,
    linear_path: str = "polar",
    style: Style | None = None,
    save_trajectory: str | Path | None = None,
    over: str = "depth",
    seconds: float = 12.0,
    cards: bool = True,
    captions: str = "burn",
    movie_writer: MovieWriter | None = None,
    **options: Unpack[NetworkOptions],
) -> RenderResult:
    """Render a scene's deformation through every layer of its network to a movie.

    Parameters
    ----------
    scene
        A preset name, scene file, Preset, Scene or :class:`Prepared`.
    out
        ``.mp4`` (H.264), ``.webm`` (VP9), ``.gif``, or a folder for PNG frames; default
        ``outputs/<scene>/<scene>.mp4`` (``-training.mp4`` for ``over="training"``).
    quality
        ``low``, ``medium`` or ``high`` (size, frame rate, anti-aliasing).
    size, fps
        Override the quality's size (width, height) and frame rate.
    seconds_per_stage
        Seconds for each stage of each layer.
    linear_path
        ``polar`` (stays invertible) or ``straight``.
    style
        A :class:`~layerlapse.draw.style.Style`; default: the scene file's, else the default.
    save_trajectory
        Also write every frame's vertex positions to this ``.npz``.
    over
        ``depth`` (through the layers of a trained network) or ``training`` (the last
        representation as a fresh network trains, over ``seconds`` seconds).
    seconds
        Length of an ``over="training"`` movie.
    cards
        Open with a title card (the question) and end with a verdict card (the answer, with
        the inset on the misclassified samples); ``over="depth"`` only.
    captions
        ``burn`` (each stage's caption on the frames), ``file`` (as WebVTT and SRT files
        beside the movie, ``MOVIE.vtt`` and ``MOVIE.srt``, with the cards; none on the frames)
        or ``none``.
    movie_writer
        What renders the frames into the file, called as
        :func:`~layerlapse.render.movie.write_movie` is (the default: in this process);
        :class:`layerlapse.batch.split.SplitRender` splits the movie across Dask workers.
    **options
        Where the network comes from (``network=``, ``model=``, ``checkpoint=``,
        ``network_config=``, ``training=``, ``retrain=``, ``progress=``): see
        :class:`NetworkOptions`.

    Returns
    -------
    RenderResult
    """
    from layerlapse.app.trajectory import save_trajectory as write_trajectory
    from layerlapse.render.movie import write_movie

    _check_arguments(scene, linear_path, over, seconds, save_trajectory, options)
    if captions not in CAPTIONS:
        raise choice_error("captions", captions, CAPTIONS)
    if over == "training" and captions == "file":
        raise LayerlapseError("captions: subtitle files follow the stages of --over depth; the training clock "
                              "has none (use burn or none)")
    req = Request.of(scene, style, options)
    plan = MoviePlan.of(req, out, MovieAsk(quality, size, fps, seconds_per_stage, save_trajectory, over, seconds,
                                           cards=cards, captions=captions))
    if over == "training":
        return _render_training(req, plan, movie_writer)
    prepared = req.prepare()
    if req.planned_config() is None:  # a user's model: its length is known once it is read
        plan.check_length(prepared.network.config)
    words = cards_for(prepared) if cards else None
    deformation = prepared.deform(fps=plan.settings.fps, timeline=card_timeline(plan.timeline, words),
                                  linear_path=linear_path)
    title = prepared.title if req.preset.class_names else req.name
    (movie_writer or write_movie)(plan.out, req.preset.scene, deformation, plan.settings, style=req.style,
                                  title=title, accuracy=prepared.accuracy, progress=options.get("progress", True),
                                  cards=words, captions=captions)
    trajectory = write_trajectory(plan.trajectory, req.preset.scene, deformation) if plan.trajectory else None
    subtitles: tuple[Path, ...] = ()
    if captions == "file":
        subtitles = write_subtitles(plan.out, deformation.timeline, words,
                                    result_text(req, deformation, prepared.accuracy))
    return RenderResult(plan.out, prepared.network, deformation, trajectory, prepared.notes, subtitles)


#: frames per second of the timeline the verdict's linking numbers are read on: every stage
#: at 10 moments, a few seconds at most for a scene with long cores (trefoil: about 4 s)
LINKING_FPS = 5.0


def cards_for(prepared: Prepared) -> Cards:
    """The movie's title and verdict cards: the preset's claim as a question about the network
    actually used, and a verdict worded from its accuracy, misclassified count and (for a
    scene with core curves) the linking numbers the certificate reads off its frames; a scene
    without a claim or an accuracy falls back to its description and numbers."""
    from layerlapse.app.claims import question, verdict_for
    from layerlapse.app.preset_claims import NO_DATA_CARDS

    preset, network = prepared.preset, prepared.network
    n = len(preset.samples)
    # the words name one width-2 tanh layer: a user's other network gets the fallback
    if preset.name in NO_DATA_CARDS and not n and network.config.hidden == (2,) \
            and network.config.layer_activations() == ("tanh",) and network.config.flow is None:
        return Cards(*NO_DATA_CARDS[preset.name])
    if getattr(preset, "claim", None) is None or network.accuracy is None or not n:
        wrong = None if network.accuracy is None or not n else int(round((1.0 - network.accuracy) * n))
        return fallback_cards(preset.description, accuracy=network.accuracy, misclassified=wrong, n_samples=n)
    lines = verdict_for(preset, network, linking=_linking(prepared))
    return Cards(question(preset, network.config), lines)


def _linking(prepared: Prepared) -> Any:
    """The linking number of the classes' cores per frame, or None: for scenes without cores,
    and for flows, whose stretched cores the certificate's straight chords cross (a flow that
    stretches a core 50-fold reads linking 0 although nothing was cut)."""
    from layerlapse.networks.certificate import linking_values

    preset = prepared.preset
    if len(preset.cores) < 2 or prepared.network.config.flow is not None:
        return None
    deformation = prepared.deform(fps=LINKING_FPS, timeline=preset.timeline)
    return linking_values(deformation, preset.scene, None)


def result_text(req: Request, deformation: Any, accuracy: float | None) -> str:
    """What the movie's output caption adds (`` · accuracy 92.4% · 17 misclassified (dots)``)."""
    from layerlapse.draw.model import DrawModel

    model = DrawModel(req.preset.scene, deformation, req.style, flat=deformation.planar)
    return model.result_text(accuracy)


@dataclass(frozen=True)
class MovieAsk:
    """What :func:`render` was asked for about the movie itself (as given)."""

    quality: str
    size: tuple[int, int] | str | None
    fps: float | None
    seconds_per_stage: float | None
    save_trajectory: str | Path | None
    over: str
    seconds: float
    cards: bool = True
    captions: str = "burn"


@dataclass(frozen=True)
class MoviePlan:
    """A movie's resolved output, settings and timeline, checked before any training:
    sizes first (nothing touched yet), then every output (the movie, and the trajectory
    beside it)."""

    out: Path
    settings: Any
    timeline: TimelineConfig
    trajectory: Path | None
    n_points: int
    seconds: float
    captions: str = "burn"

    @classmethod
    def of(cls, req: Request, out: str | Path | None, ask: MovieAsk) -> MoviePlan:
        from layerlapse.app.trajectory import check_trajectory_path
        from layerlapse.render.encoder import FOLDER, check_frame_folder, output_kind
        from layerlapse.render.movie import resolve_settings

        suffix = "-training" if ask.over == "training" else ""
        path = output_path(out, frames_folder=True) if out is not None else req.default_out(f"{suffix}.mp4")
        kind = output_kind(path)
        settings = resolve_settings(ask.quality, ask.size, ask.fps, kind=kind, style=req.style)
        timeline = req.timeline(ask.seconds_per_stage)
        if not ask.cards or ask.over == "training":
            timeline = timeline.without_cards()
        trajectory = output_path(ask.save_trajectory, "save_trajectory") if ask.save_trajectory else None
        plan = cls(path, settings, timeline, trajectory, len(req.preset.scene.points()[0]), ask.seconds,
                   ask.captions)
        if ask.over == "training":
            _check_training_look(req, plan)
        else:
            req.check_look()
            planned = req.planned_config()
            if planned is not None:  # before any training; a user's model is checked once it is read
                plan.check_length(planned)
        if kind == FOLDER:
            check_folder_writable(path)
            check_frame_folder(path)
        else:
            check_output(path)
        if trajectory is not None:
            check_trajectory_path(trajectory)
        if ask.captions == "file":
            check_subtitles(path)
        return plan

    def check_length(self, config: NetworkConfig) -> None:
        """Refuse a movie of more frames than allowed, or a trajectory file larger than allowed;
        warn when the movie will render for minutes."""
        from layerlapse.app.trajectory import check_trajectory_size
        from layerlapse.render.movie import check_movie_length

        n_frames = Timeline.build(source.planned_stages(config), self.timeline, self.settings.fps).n_frames
        planar = max((config.flow_dim, *config.hidden)) < 3
        work = self.n_points * sum(w * w for w in config.hidden)
        check_movie_length(n_frames, self.settings, planar=planar, work=work)
        if self.trajectory is not None:
            check_trajectory_size(n_frames, self.n_points)


def _check_arguments(scene: SceneLike, linear_path: str, over: str, seconds: float, save_trajectory: Any,
                     options: NetworkOptions) -> None:
    """The path's and the clock's own arguments, checked before the scene is even read."""
    if linear_path not in LINEAR_PATHS:
        raise choice_error("linear_path", linear_path, LINEAR_PATHS)
    if over not in CLOCKS:
        raise choice_error("over", over, CLOCKS)
    if over == "training" and save_trajectory:
        raise LayerlapseError("save_trajectory: trajectories are written for --over depth only")
    if over == "training" and (options.get("model") is not None or options.get("network") is not None
                               or isinstance(scene, Prepared)):
        raise LayerlapseError("over: the training clock trains its own network; it takes no model or network")
    if not 0 < seconds <= 3600:
        raise range_error("seconds", seconds, "0 < seconds <= 3600")



def _check_training_look(req: Request, plan: MoviePlan) -> None:
    """A training-clock movie: looks it cannot show, and its length."""
    from layerlapse.render.movie import check_movie_length

    style = req.style
    if style.color_by == "stretch" or style.hud or style.boundary == "pulled-back":
        raise LayerlapseError("over: the training clock has no layers to measure stretch in, to pull the "
                              "boundary back through or to read det from; drop --color-by stretch, "
                              "--boundary pulled-back and --hud (they follow --over depth)")
    check_movie_length(max(2, int(round(plan.seconds * plan.settings.fps))), plan.settings, planar=req.preset.dim < 3)



def _render_training(req: Request, plan: MoviePlan, movie_writer: MovieWriter | None = None) -> RenderResult:
    """A movie of the last representation as a fresh network trains (``over="training"``)."""
    from layerlapse.networks.training_clock import record_training
    from layerlapse.render.movie import write_movie

    preset, progress, settings = req.preset, req.options.get("progress", True), plan.settings
    config, train_config = source.network_settings(preset, req.options.get("network_config"),
                                                   req.options.get("training"))
    points, _ = preset.scene.points()
    train_config = train_config.model_copy(update={"restarts": 1})  # the clock trains once
    with source.training_progress(train_config, progress=progress, samples=preset.samples, labels=preset.labels,
                                  config=config) as report:
        movie, network = record_training(points, preset.samples, preset.labels, config, train_config,
                                         frames=max(2, int(round(plan.seconds * settings.fps))), fps=settings.fps,
                                         scene_key=preset.key, progress=report)
    title = f"{preset.name} \u00b7 {config.describe()} \u00b7 training"
    (movie_writer or write_movie)(plan.out, preset.scene, movie, settings, style=req.style, title=title,
                                  accuracy=None, progress=progress,
                                  captions="none" if plan.captions == "none" else "burn")
    return RenderResult(plan.out, network, movie, None)
