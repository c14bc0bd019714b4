"""An interactive window: a time slider over the whole timeline, keys to play and step.

Scrubbing writes new points into the meshes built once by :class:`SceneView`; nothing
is rebuilt. The mouse orbits and zooms as in any PyVista window.

Keys: Space play/pause; Left/Right previous/next stage boundary; g grid on/off;
1..9 class 1..9 on/off; b decision boundary on/off (with ``--boundary pulled-back`` it cycles:
both, the plane only, none); r fit the camera to what is shown.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import numpy as np

from layerlapse.draw.camera import MARGIN, CameraPath
from layerlapse.draw.style import Style
from layerlapse.errors import LayerlapseError
from layerlapse.networks.deformation import Deformation
from layerlapse.scenes.base import Scene

KEYS = {
    "space": "play / pause",
    "Left": "previous stage boundary",
    "Right": "next stage boundary",
    "g": "grid on / off",
    "1..9": "class 1..9 on / off",
    "b": "decision boundary on / off; with --boundary pulled-back it cycles: plane and pulled-back, plane only, none",
    "r": "fit the camera to what is shown",
    "f": "camera frames the data on / off (still within a layer; keeps your viewing direction)",
}
NO_DISPLAY_HELP = (
    "run it under a virtual display (`xvfb-run -a layerlapse show ...`, after `apt-get install xvfb`), "
    "or make files offscreen with `layerlapse render` or `layerlapse figure`"
)


def check_display() -> None:
    """Fail with a clear message, never a segfault, when no window can be opened."""
    if not sys.platform.startswith("linux"):
        return
    display = os.environ.get("DISPLAY")
    if not display:
        raise LayerlapseError(f"show: no display (DISPLAY is not set); {NO_DISPLAY_HELP}")
    lib = ctypes.util.find_library("X11")
    if lib is None:
        return
    x11 = ctypes.CDLL(lib)
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    handle = x11.XOpenDisplay(display.encode())
    if not handle:
        raise LayerlapseError(f"show: cannot open display {display!r}; {NO_DISPLAY_HELP}")
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay(handle)


@contextmanager
def _x_window():
    """Make VTK create an X window even if offscreen EGL was chosen at import time."""
    old = os.environ.get("VTK_DEFAULT_OPENGL_WINDOW")
    if sys.platform.startswith("linux"):
        os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = "vtkXOpenGLRenderWindow"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("VTK_DEFAULT_OPENGL_WINDOW", None)
        else:
            os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = old


@contextmanager
def _signals_end_loop(end_loop: Callable[[], None]) -> Iterator[list[int]]:
    """While VTK's event loop runs, SIGINT and SIGTERM end the loop; the signal is handed to the
    handler that was there before (the CLI's raises its interrupt) once the loop has returned.

    Why: the handler runs inside a VTK callback (the timer's, a key's), and VTK's Python wrapping
    turns a KeyboardInterrupt raised there into "Caught a Ctrl-C within python, exiting program."
    and ``Py_Exit(1)``: exit code 1 and not the CLI's line. Yields the signals caught, for the
    timer to end a loop that had not yet started when the signal came (ending it then does
    nothing). Ignored signals stay ignored; a default SIGTERM still ends the process at once.
    """
    import signal
    import threading

    caught: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        caught.append(signum)
        end_loop()

    before: dict[int, Callable[[int, FrameType | None], object]] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old = signal.getsignal(sig)
            if callable(old):
                before[sig] = old
                signal.signal(sig, handler)
    try:
        yield caught
    finally:
        for signum, previous in before.items():
            signal.signal(signum, previous)
    if caught:
        before[caught[0]](caught[0], None)


class Viewer:
    """The window's state: current time, playing or not, what is visible.

    Build it, then :meth:`show` (blocks until the window closes). Tests and scripts can
    drive it with :meth:`set_time`, :meth:`press` and :meth:`screenshot`.
    """

    def __init__(self, scene: Scene, deformation: Deformation, *, style: Style = Style(),
                 size: tuple[int, int] = (1280, 800), accuracy: float | None = None, title: str = "") -> None:
        from layerlapse.render.view import SceneView

        check_display()
        self.deformation = deformation
        self.timeline = deformation.timeline
        self.fps = self.timeline.fps
        camera = CameraPath.for_movie(deformation, fps=self.fps,
                                      style=style.model_copy(update={"orbit_degrees_per_second": 0.0}),
                                      aspect=size[0] / size[1], subset=scene.framed_points())
        with _x_window():
            self.view = SceneView(scene, deformation, camera, style=style, size=size, title=title,
                                  accuracy=accuracy, off_screen=False)
        self.plotter = self.view.plotter
        self.time = 0.0
        self.playing = False
        self.boundary_on = True
        self.follow = True
        self._signalled: list[int] = []  # SIGINT / SIGTERM caught while the window's loop runs
        self.camera_path = camera
        names = self.timeline.name
        # stage boundaries in seconds: the first frame of each named stage, and the end
        starts = np.flatnonzero(np.r_[True, names[1:] != names[:-1]])
        self.boundaries = np.r_[starts, self.timeline.n_frames - 1] / self.fps
        self.slider = self.plotter.add_slider_widget(
            self._on_slider, rng=[0.0, self.timeline.duration], value=0.0, title="time (s)",
            pointa=(0.3, 0.07), pointb=(0.95, 0.07), style="modern", interaction_event="always", fmt="%.2f",
        )
        for key, action in {"space": self.toggle_play, "Left": self.previous_stage, "Right": self.next_stage,
                            "g": self.toggle_grid, "b": self.toggle_boundary, "r": self.fit_camera,
                            "f": self.toggle_follow}.items():
            self.plotter.add_key_event(key, action)
        for label in range(min(9, len(scene.class_names))):
            self.plotter.add_key_event(str(label + 1), lambda label=label: self.toggle_class(label))
        camera.apply(self.plotter.camera, 0)
        self.set_time(0.0)

    # --- state -----------------------------------------------------------------------
    @property
    def frame(self) -> int:
        return int(np.clip(round(self.time * self.fps), 0, self.timeline.n_frames - 1))

    @property
    def label(self) -> str:
        return self.view.label_text

    def set_time(self, seconds: float, *, from_slider: bool = False) -> None:
        """Show the timeline at ``seconds`` (clipped to the timeline)."""
        self.time = float(np.clip(seconds, 0.0, self.timeline.duration))
        positions = self.deformation.display(np.array([self.frame]))[0]
        self.view.show_frame(self.frame, positions, move_camera=False)
        if self.follow:
            self._follow()
        if self.view.decision is not None and not self.boundary_on:
            self.view.decision.set_visible(False)
        if self.view.vote is not None and not self.boundary_on:  # a k-NN head's vote colouring
            self.view.vote.set_fade(0.0)
        if self.view.argmax is not None and not self.boundary_on:  # many classes: regions or halos
            self.view.argmax.set_fade(0.0)
        if not from_slider:
            self.slider.GetRepresentation().SetValue(self.time)
        self.plotter.render()

    def _on_slider(self, value: float) -> None:
        self.set_time(value, from_slider=True)

    # --- key actions -----------------------------------------------------------------
    def toggle_play(self) -> None:
        self.playing = not self.playing
        if self.playing and self.time >= self.timeline.duration - 1e-9:
            self.time = 0.0

    def tick(self, _step: int = 0) -> None:
        """Advance one frame while playing (called by the window's timer)."""
        if self._signalled:  # a signal that came before the loop started: end it now
            self._end_loop()
        elif self.playing:
            self.set_time(self.time + 1.0 / self.fps)
            if self.time >= self.timeline.duration - 1e-9:
                self.playing = False

    def previous_stage(self) -> None:
        earlier = self.boundaries[self.boundaries < self.time - 1e-6]
        self.set_time(earlier[-1] if earlier.size else 0.0)

    def next_stage(self) -> None:
        later = self.boundaries[self.boundaries > self.time + 1e-6]
        self.set_time(later[0] if later.size else self.timeline.duration)

    def toggle_grid(self) -> None:
        actors = self.view.grid_actors  # the strong lines and the faint ones together
        if actors:
            shown = not actors[0].GetVisibility()
            for actor in actors:
                actor.SetVisibility(shown)
            self.plotter.render()

    def toggle_class(self, label: int) -> None:
        for actor in self.view.class_actors.get(label, []):
            actor.SetVisibility(not actor.GetVisibility())
        self.plotter.render()

    def toggle_boundary(self) -> None:
        """The decision boundary on / off; with a pulled-back boundary, a cycle: both, the
        plane only (the carried surface hidden first: it is the one that can cover the data),
        none."""
        pulled = self.view.pulled_back
        if pulled is None:
            self.boundary_on = not self.boundary_on
        elif self.boundary_on and pulled.visible:
            pulled.set_visible(False)
        elif self.boundary_on:
            self.boundary_on = False
        else:
            self.boundary_on = True
            pulled.set_visible(True)
        self.set_time(self.time)

    def _follow(self) -> None:
        """Frame the data at the current time, keeping the user's viewing direction."""
        cam = self.plotter.camera
        direction = np.subtract(cam.GetPosition(), cam.GetFocalPoint())
        direction /= max(np.linalg.norm(direction), 1e-12)
        centre = self.camera_path.centre[self.frame]
        radius = float(self.camera_path.radius[self.frame])
        dist = MARGIN * radius / np.tan(np.radians(cam.GetViewAngle() / 2)) + float(self.camera_path.depth[self.frame])
        cam.SetFocalPoint(*centre)
        cam.SetPosition(*(centre + dist * direction))
        cam.SetParallelScale(MARGIN * radius)
        self.plotter.renderer.ResetCameraClippingRange()

    def toggle_follow(self) -> None:
        self.follow = not self.follow
        self.set_time(self.time)

    def fit_camera(self) -> None:
        self.plotter.reset_camera()
        self.plotter.render()

    # --- driving it --------------------------------------------------------------------
    def press(self, key: str) -> None:
        """Send a key press to the window, as a user would."""
        interactor = self.plotter.iren.interactor
        interactor.SetKeySym(key)
        interactor.SetKeyCode({"space": " "}.get(key, key if len(key) == 1 else "\0"))
        interactor.KeyPressEvent()
        interactor.CharEvent()
        interactor.KeyReleaseEvent()

    def screenshot(self) -> np.ndarray:
        """The window's current image; (H, W, 3) uint8."""
        self.plotter.render()
        return np.asarray(self.plotter.screenshot(return_img=True))

    def show(self, *, block: bool = True) -> None:
        """Open the window; ``block=True`` runs it until it is closed, ``False`` returns at once
        (drive it with :meth:`set_time`, :meth:`press`, :meth:`tick`)."""
        if block:
            with _signals_end_loop(self._end_loop) as self._signalled:
                self.plotter.add_timer_event(max_steps=10**9, duration=int(1000 / self.fps), callback=self.tick)
                self.plotter.show(title="layerlapse")
        else:
            self.plotter.show(title="layerlapse", interactive_update=True, auto_close=False)

    def _end_loop(self) -> None:
        """End the window's event loop, as closing the window does."""
        iren = self.plotter.iren
        if iren is not None:
            iren.terminate_app()

    def close(self) -> None:
        self.plotter.close()
