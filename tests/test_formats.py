"""Every movie format decodes with the expected frame count and size; PNG folders; GIF defaults."""

import numpy as np
import pytest
from conftest import TINY_SPIRALS, TINY_TRAINING

from layerlapse.app import api
from layerlapse.errors import LayerlapseError
from layerlapse.render import movie, resolve_settings

av = pytest.importorskip("av")


@pytest.fixture(scope="module")
def spirals():
    scene = api.load_scene("spirals", **TINY_SPIRALS)
    return scene, api.train_network(scene, training=TINY_TRAINING, progress=False)


def decode(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        return stream.codec_context.name, frames


@pytest.mark.parametrize(("ext", "codec"), [(".mp4", "h264"), (".webm", "vp9"), (".gif", "gif")])
def test_movie_formats_decode(spirals, tmp_path, ext, codec):
    scene, net = spirals
    res = api.render(scene, tmp_path / f"m{ext}", network=net, size=(128, 96), fps=6, seconds_per_stage=0.3, progress=False)
    name, frames = decode(res.path)
    assert name == codec
    assert len(frames) == res.deformation.n_frames
    assert frames[0].shape == (96, 128, 3)
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 0.5  # it moves
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"m{ext}"]  # no temporary files left


def test_png_folder(spirals, tmp_path):
    import imageio.v3 as iio

    scene, net = spirals
    res = api.render(scene, tmp_path / "frames", network=net, size=(64, 48), fps=4, seconds_per_stage=0.3, progress=False)
    files = sorted((tmp_path / "frames").glob("frame_*.png"))
    assert len(files) == res.deformation.n_frames and files[0].name == "frame_00000.png"
    assert iio.imread(files[0]).shape == (48, 64, 3)
    # a second render replaces the frames; a folder holding other files is refused
    api.render(scene, tmp_path / "frames", network=net, size=(64, 48), fps=2, seconds_per_stage=0.3, progress=False)
    assert len(list((tmp_path / "frames").iterdir())) < len(files)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(LayerlapseError, match="holds other files"):
        api.render(scene, tmp_path / "mine", network=net, size=(64, 48), fps=2, progress=False)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def test_gif_defaults_and_size_warning(spirals, tmp_path, monkeypatch):
    settings = resolve_settings("medium", kind=".gif")
    assert settings.size == (640, 360) and settings.fps == 12
    assert resolve_settings("medium", (300, 200), 20, kind=".gif").size == (300, 200)
    assert resolve_settings("low", (301, 201), kind=".gif").size == (301, 201)  # GIF has no even-size rule
    scene, net = spirals
    monkeypatch.setattr(movie, "GIF_WARN_BYTES", 1000)
    with pytest.warns(UserWarning, match="this GIF will be about"):
        api.render(scene, tmp_path / "big.gif", network=net, size=(64, 48), fps=2, seconds_per_stage=0.2, progress=False)


def test_unknown_extension_lists_formats(spirals, tmp_path):
    scene, net = spirals
    with pytest.raises(LayerlapseError, match=r"allowed: \.mp4, \.webm, \.gif, a folder \(PNG frames\)"):
        api.render(scene, tmp_path / "m.mov", network=net, progress=False)


@pytest.mark.parametrize("ext", [".mp4", ".webm"])
def test_ffmpeg_is_started_on_the_callers_thread(tmp_path, monkeypatch, ext):
    """Forking from the writer thread while the main thread is inside a BLAS call (a flow's
    ODE solve) hung renders: OpenBLAS's fork handler stops its thread pool under that call.
    The encoder process must be started by the thread that makes the writer, before any frame."""
    import subprocess
    import threading

    from layerlapse.render.encoder import FrameWriter

    spawned = []
    real = subprocess.Popen

    class Recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):
            spawned.append(threading.current_thread())
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Recording)
    with FrameWriter(tmp_path / f"x{ext}", (64, 48), 10) as writer:
        assert spawned  # before any frame
        for _ in range(3):
            writer.write(np.zeros((48, 64, 3), np.uint8))
    assert all(t is threading.current_thread() for t in spawned), spawned  # never from the writer thread
    assert (tmp_path / f"x{ext}").stat().st_size > 0
