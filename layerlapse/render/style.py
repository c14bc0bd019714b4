"""How things look: a frozen Style handed to each renderer, and quality presets."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: Okabe & Ito's colour-blind-safe palette (blue, vermillion, bluish green, orange, ...).
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


class Style(BaseModel):
    """Colours, lines, text and camera motion shared by every output."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    background: str = "white"
    class_colors: tuple[str, ...] = OKABE_ITO
    grid_color: str = "#b4b4b4"
    grid_width: float = Field(1.0, gt=0, le=20, description="grid line width at 720p, in pixels")
    text_color: str = "#222222"
    tube_radius: float = Field(0.012, gt=0, le=1, description="curve tube radius, fraction of the view")
    decision_color: str = "#404040"
    specular: float = Field(0.35, ge=0, le=1)
    orbit_degrees_per_second: float = Field(6.0, ge=-360, le=360)
    camera_smoothing: float = Field(0.6, ge=0, le=60, description="seconds over which the camera follows the data")
    elevation: float = Field(22.0, ge=-89, le=89, description="camera elevation in degrees (3D scenes)")
    azimuth: float = Field(-35.0, ge=-360, le=360, description="camera azimuth at the start (3D scenes)")
    anti_aliasing: Literal["none", "ssaa"] | None = Field(
        None, description="None: the quality preset decides"
    )


class Quality(BaseModel):
    """A size, frame rate and anti-aliasing bundled under a name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    size: tuple[int, int]
    fps: float
    anti_aliasing: Literal["none", "ssaa"]


#: Multisampling costs 3-4x per frame on the software renderer (llvmpipe) and FXAA is
#: silently replaced by SSAA under EGL, so low and medium render without anti-aliasing
#: (smooth shading and H.264 hide most of the stair-stepping) and only high pays for SSAA.
QUALITIES: dict[str, Quality] = {
    "low": Quality(size=(854, 480), fps=15, anti_aliasing="none"),
    "medium": Quality(size=(1280, 720), fps=30, anti_aliasing="none"),
    "high": Quality(size=(1920, 1080), fps=30, anti_aliasing="ssaa"),
}
