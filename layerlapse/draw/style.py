"""How things look: a frozen Style handed to each renderer, and quality presets."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from layerlapse.draw.colour import rgba
from layerlapse.draw.palette import OKABE_ITO as OKABE_ITO  # re-exported: its first colours are the classes'
from layerlapse.draw.palette import PALETTE

#: camera name -> (azimuth, elevation) in degrees; ``top`` looks down the z axis.
CAMERAS: dict[str, tuple[float, float]] = {"iso": (-35.0, 22.0), "front": (-90.0, 0.0), "top": (-90.0, 90.0)}

#: background shorthands: (background, text, grid)
BACKGROUNDS: dict[str, tuple[str, str, str]] = {
    "white": ("white", "#222222", "#b4b4b4"),
    "dark": ("#1c1c21", "#eeeeee", "#5e5e66"),
}


def _check_colour(value: str) -> str:
    try:
        rgba(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a colour (a name such as 'white' or a hex code such as '#0072B2')") from None
    return value


class Style(BaseModel):
    """Colours, lines, text and camera shared by every output (movie, figure, window).

    ``Style.themed("dark", ...)`` picks text and grid colours to suit the background.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    background: str = "white"
    class_colors: tuple[str, ...] = Field(PALETTE, min_length=1)
    grid_color: str = "#b4b4b4"
    grid_width: float = Field(1.0, gt=0, le=20, description="grid line width at 720p, in pixels")
    text_color: str = "#222222"
    tube_radius: float = Field(0.012, gt=0, le=1, description="curve tube radius, fraction of the view")
    decision_color: str = "#808080"
    specular: float = Field(0.35, ge=0, le=1)
    camera: Literal["iso", "front", "top"] = "iso"
    view: tuple[float, float] | None = Field(
        None, description="(azimuth, elevation) in degrees of the first view, instead of the camera name's "
        "(a preset's choice: the trefoil is seen from above its ring, so its crossings and the ring read)")
    orbit_degrees_per_second: float = Field(6.0, ge=-360, le=360)
    camera_smoothing: float = Field(0.6, ge=0, le=60, description="seconds over which the camera follows the data")
    framing: Literal["layer", "follow"] = Field(
        "layer", description="layer: the camera holds still while a layer plays; follow: it refits every frame")
    grid: Literal["auto", "full", "box", "none"] = Field(
        "auto", description="auto: full in 2-D, box in 3-D (the box's edges and a few faint lines)")
    axes: bool = Field(True, description="faint axes through the origin and the activation's box")
    ambient: float = Field(0.3, ge=0, le=1, description="light every lit surface keeps, so none turns black")
    anti_aliasing: Literal["none", "fxaa", "supersample", "ssaa"] | None = Field(None, description="None: the quality preset decides")
    color_by: Literal["class", "stretch"] = Field(
        "class", description="class: each class in its colour; stretch: how much the layers so far stretch space "
        "at each point (area on surfaces, length on curves and grid lines), log scale centred on 1")
    boundary: Literal["plane", "pulled-back"] = Field(
        "plane", description="plane: the decision boundary at the output only; pulled-back: the set where the "
        "logits tie, found in the input and carried through every stage")
    boundary_color: str = Field("#7B3294", description="the pulled-back decision boundary's colour")
    hud: bool = Field(False, description="a small readout of det W(t), the linking number and the accuracy")

    @field_validator("background", "grid_color", "text_color", "decision_color", "boundary_color")
    @classmethod
    def _colour(cls, value: str) -> str:
        return _check_colour(value)

    @field_validator("class_colors")
    @classmethod
    def _colours(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_colour(v) for v in value)

    @field_validator("view")
    @classmethod
    def _view(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not -90.0 < value[1] < 90.0:
            raise ValueError(f"elevation {value[1]} is not between -90 and 90 degrees (use camera 'top' to look down)")
        return value

    def direction(self) -> tuple[float, float]:
        """The first view's (azimuth, elevation) in degrees: :attr:`view`, else the camera name's."""
        return self.view if self.view is not None else CAMERAS[self.camera]

    def colour(self, label: int) -> str:
        """The colour of class ``label``; negative labels (borders, guides) take the text colour."""
        return self.text_color if label < 0 else self.class_colors[label % len(self.class_colors)]

    @classmethod
    def themed(cls, background: str = "white", **overrides) -> Style:
        """A style for ``background`` ('white', 'dark' or any colour) with fitting text and grid."""
        bg, text, grid = BACKGROUNDS.get(background, (background, None, None))
        base: dict = {"background": bg}
        if text is not None:
            base.update(text_color=text, grid_color=grid)
        return cls(**{**base, **overrides})


class Quality(BaseModel):
    """A size, frame rate and anti-aliasing bundled under a name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    size: tuple[int, int]
    fps: float
    anti_aliasing: Literal["auto", "none", "fxaa", "supersample", "ssaa"]


#: Anti-aliasing on the software renderer (llvmpipe), measured (README, "Rendering and
#: performance"): FXAA costs 3.8x a frame, 4x multisampling 5.2x; rendering 1.5x larger and
#: letting ffmpeg scale down (``supersample``) costs less than a medium frame did before the
#: frames-that-explain change.
#: ``medium`` uses it for 3-D views (``auto``); flat 2-D views stay unaliased so that their
#: movies stay quicker than matplotlib's (``--anti-aliasing supersample`` adds about 40%).
QUALITIES: dict[str, Quality] = {
    "low": Quality(size=(854, 480), fps=15, anti_aliasing="none"),
    "medium": Quality(size=(1280, 720), fps=30, anti_aliasing="auto"),
    "high": Quality(size=(1920, 1080), fps=30, anti_aliasing="ssaa"),
}
