"""Tiny renders whose frames are checked: not blank, class colours, stages differ, sizes exact."""

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from conftest import TINY_SPIRALS, TINY_TRAINING

from layerlapse.app import api
from layerlapse.draw.style import OKABE_ITO
from layerlapse.errors import LayerlapseError
from layerlapse.render import Style, render_frames, resolve_settings

REFERENCE = Path(__file__).parent / "reference"
SIZE = (192, 108)


@pytest.fixture(scope="module")
def tori(tiny_tori):
    return tiny_tori


def rgb(hex_colour):
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)


def colour_share(img, hex_colour, tol=0.12):
    """Share of pixels whose chromaticity (colour with brightness divided out) matches."""
    px = img.reshape(-1, 3).astype(float)
    total = px.sum(1, keepdims=True)
    ok = total[:, 0] > 30
    chroma = px[ok] / total[ok]
    target = rgb(hex_colour) / rgb(hex_colour).sum()
    return float((np.abs(chroma - target).max(1) < tol).mean())


def frames_of(scene, net, **timeline):
    d = api.deform(scene, net, fps=8, timeline={"seconds_per_stage": 0.5, "pause": 0.0, "hold_start": 0.25, "hold_end": 0.5, **timeline})
    settings = resolve_settings("low", SIZE, 8)
    return d, list(render_frames(scene, d, settings, style=Style(), progress=False))


def test_frames_are_drawn_coloured_and_move(tori):
    scene, net = tori
    d, frames = frames_of(scene, net)
    assert len(frames) == d.n_frames
    for f in frames:
        assert f.shape == (SIZE[1], SIZE[0], 3) and f.dtype == np.uint8
        assert f.std() > 5, "blank frame"
        assert (np.abs(f.astype(int) - 255).sum(2) > 30).mean() > 0.01, "nothing drawn on the background"
    assert colour_share(frames[0], OKABE_ITO[0]) > 0.005, "class A colour missing"
    assert colour_share(frames[0], OKABE_ITO[1]) > 0.005, "class B colour missing"
    # an undertrained network squashes the tori thin, but both stay visible
    assert colour_share(frames[-1], OKABE_ITO[0]) > 0 and colour_share(frames[-1], OKABE_ITO[1]) > 0
    tl = d.timeline
    ends = [np.flatnonzero(tl.name == k)[-1] for k in range(len(tl.stage_names))]
    for a, b in zip(ends[:-1], ends[1:]):
        assert np.abs(frames[a].astype(int) - frames[b]).mean() > 0.5, (tl.stage_names[a], tl.stage_names[b])


def test_first_frame_matches_reference(tori, regen_references):
    """The undeformed input, compared with a stored image (``pytest --regen-references`` rewrites it)."""
    scene, net = tori
    _, frames = frames_of(scene, net)
    ref_path = REFERENCE / "linked_tori_input.png"
    if regen_references or not ref_path.exists():
        if not regen_references:
            pytest.fail(f"missing reference {ref_path}; run pytest --regen-references")
        iio.imwrite(ref_path, frames[0])
    ref = iio.imread(ref_path)
    diff = np.abs(frames[0].astype(int) - ref)
    assert diff.mean() < 2.0 and (diff.max(2) > 40).mean() < 0.01, (diff.mean(), (diff.max(2) > 40).mean())


def test_movie_file_has_exact_size_and_frame_count(tori, tmp_path):
    av = pytest.importorskip("av")
    scene, net = tori
    out = tmp_path / "m" / "tori.mp4"
    res = api.render(scene, out, network=net, size=(170, 98), fps=8, seconds_per_stage=0.25, progress=False)
    assert res.path == out and out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "temporary file left behind"
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (170, 98)  # no macro-block padding
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert stream.codec_context.pix_fmt == "yuv420p"
    assert len(decoded) == res.deformation.n_frames


def test_odd_size_is_rounded_with_a_notice(tmp_path):
    with pytest.warns(UserWarning, match="171x99 rounded to 170x98"):
        settings = resolve_settings("low", (171, 99), 8)
    assert settings.size == (170, 98)


def test_bad_sizes_and_outputs(tori, tmp_path):
    scene, net = tori
    with pytest.raises(LayerlapseError, match="size: 0x100 is not positive"):
        resolve_settings("low", (0, 100))
    with pytest.raises(LayerlapseError, match="larger than the renderer allows"):
        resolve_settings("low", (100_000, 100))
    with pytest.raises(LayerlapseError, match="quality: unknown value 'ultra'; allowed: low, medium, high"):
        resolve_settings("ultra")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LayerlapseError, match="cannot write to folder"):
        api.render(scene, blocker / "out.mp4", network=net, progress=False)
    with pytest.raises(LayerlapseError, match=r"allowed: \.mp4"):
        api.render(scene, tmp_path / "out.avi", network=net, progress=False)


def test_failed_render_leaves_nothing(tori, tmp_path, monkeypatch):
    scene, net = tori
    from layerlapse.render import view

    def boom(self, frame, positions):
        if frame >= 3:  # frame 3 itself may be a hold's, not rendered again
            raise RuntimeError("boom")
        return original(self, frame, positions)

    original = view.SceneView.show_frame
    monkeypatch.setattr(view.SceneView, "show_frame", boom)
    with pytest.raises(RuntimeError, match="boom"):
        api.render(scene, tmp_path / "x" / "fail.mp4", network=net, size=(96, 64), fps=8, progress=False)
    assert list((tmp_path / "x").iterdir()) == []


def test_spirals_render_as_tubes(tmp_path):
    scene = api.load_scene("spirals", **TINY_SPIRALS)
    net = api.train_network(scene, training=TINY_TRAINING, progress=False)
    _, frames = frames_of(scene, net)
    assert colour_share(frames[0], OKABE_ITO[0]) > 0.002 and colour_share(frames[0], OKABE_ITO[1]) > 0.002
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 0.5


def test_trajectory_export(tori, tmp_path):
    scene, net = tori
    res = api.render(scene, tmp_path / "t.mp4", network=net, size=(96, 64), fps=4,
                     seconds_per_stage=0.5, save_trajectory=tmp_path / "traj.npz", progress=False)
    z = np.load(res.trajectory)
    d = res.deformation
    assert z["positions"].shape == (d.n_frames, d.n_points, 3) and z["positions"].dtype == np.float32
    np.testing.assert_array_equal(z["positions"][0], scene.points()[0].astype(np.float32))
    assert list(z["stage_names"]) == list(d.timeline.stage_names)
    assert list(z["stage_kinds"]) == ["input", *(st.kind for st in d.stages), "output"]
    assert len(z["stage_kinds"]) == len(z["stage_names"]) and "activation" in list(z["stage_kinds"])
    assert z["frame_t"].shape == z["frame_layer"].shape == z["frame_stage"].shape == (d.n_frames,)
    for k, layer in enumerate(d.plan.hidden, start=1):
        np.testing.assert_array_equal(z[f"W{k}"], layer.W)
        assert str(z[f"activation{k}"]) == "tanh"
    # the stored weights reproduce the stored motion's end point
    X = scene.points()[0]
    for k in range(1, len(d.plan.hidden) + 1):
        X = np.tanh(X @ z[f"W{k}"].T + z[f"b{k}"])
    np.testing.assert_allclose(z["positions"][-1], X, atol=1e-5)
    assert list(z["part_kind"]) == ["surface", "surface", "grid"]


def test_medium_supersamples_three_d_and_keeps_the_size(tori, tmp_path):
    """``auto`` anti-aliasing: 3-D views render 1.5x larger and the writer scales down to the
    requested size; the frames are closer to a 4x supersampled reference than unaliased ones."""
    av = pytest.importorskip("av")
    from PIL import Image

    from layerlapse.draw.camera import CameraPath
    from layerlapse.render.view import SceneView

    scene, net = tori
    settings = resolve_settings("medium", (160, 90), 8)
    assert settings.anti_aliasing == "auto"
    timeline = {"seconds_per_stage": 0.25, "pause": 0.0, "hold_start": 0.25, "hold_end": 0.25}
    d = api.deform(scene, net, fps=8, timeline=timeline)
    assert settings.for_view(planar=d.planar).render_size == (240, 135)
    assert settings.for_view(planar=True).anti_aliasing == "none"
    out = tmp_path / "tori.mp4"
    api.render(scene, out, network=net, size=(160, 90), fps=8, seconds_per_stage=0.25, progress=False)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (160, 90)
    first = {}
    for aa in ("none", "supersample"):
        folder = tmp_path / aa
        api.render(scene, folder, network=net, size=(160, 90), fps=8, seconds_per_stage=0.25,
                   style=Style(anti_aliasing=aa), progress=False)
        first[aa] = iio.imread(sorted(folder.iterdir())[0]).astype(float)
        assert first[aa].shape == (90, 160, 3)
    camera = CameraPath.for_movie(d, fps=8, style=Style(), aspect=160 / 90, subset=scene.framed_points())
    view = SceneView(scene, d, camera, style=Style(), size=(640, 360))
    try:
        view.show_frame(0, d.display(np.array([0]))[0])
        big = view.grab()
    finally:
        view.close()
    reference = np.asarray(Image.fromarray(big).resize((160, 90), Image.Resampling.BOX), dtype=float)
    error = {aa: np.abs(img - reference).mean() for aa, img in first.items()}
    assert error["supersample"] < 0.8 * error["none"], error
