"""The window and the figures where they used to fail: ``show`` stopped by a signal while its
window is open (issue 23, case 7), and the text of vector figures (case 9)."""

import ctypes
import ctypes.util
import signal
import subprocess
import sys
import time

import pytest
from conftest import train_two_curves


# --- case 7: show under SIGTERM / SIGINT -------------------------------------------------------
def top_level_window_names(display):
    """The names of the X server's top-level windows (Xvfb runs no window manager, so these are
    the root's children); ``[]`` when the display cannot be opened."""
    x11 = ctypes.CDLL(ctypes.util.find_library("X11"))
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultRootWindow.restype = ctypes.c_ulong
    x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x11.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
                               ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)),
                               ctypes.POINTER(ctypes.c_uint)]
    x11.XFetchName.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_char_p)]
    x11.XFree.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    handle = x11.XOpenDisplay(display.encode())
    if not handle:
        return []
    root, parent, count = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.c_uint()
    children = ctypes.POINTER(ctypes.c_ulong)()
    names = []
    try:
        if x11.XQueryTree(handle, x11.XDefaultRootWindow(handle), ctypes.byref(root), ctypes.byref(parent),
                          ctypes.byref(children), ctypes.byref(count)):
            for i in range(count.value):
                name = ctypes.c_char_p()
                if x11.XFetchName(handle, children[i], ctypes.byref(name)) and name.value is not None:
                    names.append(name.value.decode(errors="replace"))
            if children:
                x11.XFree(children)
    finally:
        x11.XCloseDisplay(handle)
    return names


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A network trained once, so each window below opens without training."""
    return train_two_curves(tmp_path_factory.mktemp("network"), timeout=180)


def wait_for_event_loop(proc, display, timeout=90.0):
    """Until the window is named "layerlapse": PyVista names it in ``show``, just before the
    interactor's event loop starts (it is "PyVista" before). Then half a second, so the loop has
    run its timer many times over: the signal lands inside a VTK callback, where it used to fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "layerlapse" in top_level_window_names(display):
            time.sleep(0.5)
            return
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"show ended (rc {proc.returncode}) before its window opened: {out} {err}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("no window named 'layerlapse' appeared")


@pytest.mark.slow
@pytest.mark.display
@pytest.mark.skipif(sys.platform != "linux", reason="an X display under Xvfb")
@pytest.mark.parametrize(("signum", "code", "word"), [(signal.SIGTERM, 143, "terminated"),
                                                      (signal.SIGINT, 130, "interrupted")])
def test_show_stops_within_a_second_on_a_signal(xvfb, checkpoint, signum, code, word):
    """The signal ends the window's loop; the process prints the one interrupt line and exits
    128 + the signal's number within a second (it used to print VTK's "Caught a Ctrl-C within
    python" and exit 1, or linger for seconds before it went)."""
    proc = subprocess.Popen([sys.executable, "-m", "layerlapse", "show", "two-curves", "--checkpoint", str(checkpoint),
                             "--size", "240x160", "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_event_loop(proc, xvfb)
        sent = time.monotonic()
        proc.send_signal(signum)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"show was still running 10 s after {signum.name}: {err}")
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, err.splitlines()) == (code, [f"{word}: show stopped; no partial file was left"])
    assert out == ""
    assert took < 1.0, f"show took {took:.2f} s to exit after {signum.name}"


# --- case 9: the text of vector figures -------------------------------------------------------
def poppler(tool):
    """The path of a poppler-utils tool; skipped where it is missing, except under CI, whose
    .ci/run installs it."""
    import os
    import shutil

    exe = shutil.which(tool)
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is not installed; .ci/run installs poppler-utils with apt-get")
        pytest.skip(f"{tool} is not installed (apt-get install poppler-utils)")
    return exe


@pytest.fixture(scope="module")
def tori_labels():
    """What the figures below must say: a mid-stage caption with ``·`` and ``^3``, the stretch
    colour bar's ``×`` ticks, the readout line."""
    from layerlapse.draw.style import Style

    return Style(color_by="stretch", hud=True), "layer1.tanh:0.5"


def vector_figure(tiny_tori, tori_labels, path):
    from layerlapse.app import api

    scene, net = tiny_tori
    style, at = tori_labels
    with pytest.warns(UserWarning, match="labels are vector"):
        return api.figure(scene, path, at=at, size=(480, 360), style=style, network=net)


def expected_lines(tiny_tori, tori_labels):
    """The labels the view draws at that moment (its text actors' strings)."""
    from layerlapse.app import api
    from layerlapse.render.figure import FigureSize, StillRenderer, parse_at
    from layerlapse.render.vector import labels

    scene, net = tiny_tori
    style, at = tori_labels
    deformation = api.deform(scene, net, fps=60)
    still = StillRenderer(scene, deformation, style=style, size=FigureSize(480, 360), supersample=1,
                          accuracy=net.accuracy)
    try:
        still.pose(parse_at(at, deformation.timeline))
        still.view.plotter.render_window.Render()
        # a caption too long for the width is wrapped: each of its lines is written as a line
        return [line for label in labels(still.view.plotter.render_window) for line in label.text.split("\n")]
    finally:
        still.close(warn=False)


def test_pdf_text_reads_back_as_written(tiny_tori, tori_labels, tmp_path):
    """pdftotext gives back every label character for character (``·``, ``^3``, ``×``), from a
    font embedded in the file; GL2PS wrote them as MacRoman bytes: ``¬∑``, ``¬≥``, ``√ó``."""
    pdftotext, pdffonts = poppler("pdftotext"), poppler("pdffonts")
    pdf = vector_figure(tiny_tori, tori_labels, tmp_path / "f.pdf")
    text = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    read = {line.strip() for line in text.splitlines() if line.strip()}
    wanted = expected_lines(tiny_tori, tori_labels)
    # the box reads (-1, 1)^3 in every output now (the movie's font has no square bracket)
    assert any("\u00b7" in w and "(-1, 1)^3" in w for w in wanted) and any(w.startswith("\u00d7") for w in wanted)
    assert set(wanted) <= read, (wanted, read)
    fonts = subprocess.run([pdffonts, str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(row.split()[-5] == "yes" for row in fonts), fonts  # the "emb" column


def test_svg_and_eps_text(tiny_tori, tori_labels, tmp_path):
    """SVG: each label is a text element holding the label's string. EPS: an embedded
    TrueType font, each character by its glyph name, no raw UTF-8 bytes for a Latin-1 font to
    misread (GL2PS wrote ``(layer 1 of 3 \\xc2\\xb7 ...) show`` in Helvetica)."""
    import xml.etree.ElementTree as ET

    wanted = expected_lines(tiny_tori, tori_labels)
    svg = vector_figure(tiny_tori, tori_labels, tmp_path / "f.svg")
    texts = {"".join(el.itertext()).strip() for el in ET.parse(svg).getroot().iter() if el.tag.endswith("}text")}
    assert set(wanted) <= texts, (wanted, texts)
    eps = vector_figure(tiny_tori, tori_labels, tmp_path / "f.eps").read_bytes()
    assert eps.startswith(b"%!PS-Adobe-3.0 EPSF-3.0")
    assert eps.isascii()
    assert b"/FontType 42 def" in eps
    for glyph in (b"/periodcentered glyphshow", b"/asciicircum glyphshow", b"/multiply glyphshow"):
        assert glyph in eps


def test_label_boxes_cover_what_each_label_draws(tiny_tori, tori_labels):
    """Where the vector file writes each label: the pixels that change when one label is
    hidden lie inside the box :func:`labels` gives it, the inset's caption (another
    renderer, a viewport off the origin) included."""
    import numpy as np

    from layerlapse.app import api
    from layerlapse.render.figure import FigureSize, StillRenderer, parse_at
    from layerlapse.render.vector import labels

    scene, net = tiny_tori
    style, at = tori_labels
    deformation = api.deform(scene, net, fps=60)
    still = StillRenderer(scene, deformation, style=style, size=FigureSize(480, 360), supersample=1, accuracy=None)
    try:
        still.pose(parse_at(at, deformation.timeline))
        view = still.view
        view.inset.pose(view.plotter.camera, np.zeros(3), 0.5, "class 2")
        view.plotter.render_window.Render()
        found = labels(view.plotter.render_window)
        assert view.inset.caption.GetInput() in [label.text for label in found]
        full = still.image(transparent=False).astype(int)
        for label in found:
            label.actor.SetVisibility(False)
            changed = np.abs(still.image(transparent=False).astype(int) - full).max(axis=2) > 0
            label.actor.SetVisibility(True)
            rows, cols = np.nonzero(changed)
            assert rows.size, label.text
            x0, y0, x1, y1 = label.box
            ys = full.shape[0] - 1 - rows  # VTK counts rows from the bottom
            assert (x0 - 2 <= cols.min() and cols.max() <= x1 + 2 and y0 - 2 <= ys.min() and ys.max() <= y1 + 2), \
                (label.text, label.box, (cols.min(), ys.min(), cols.max(), ys.max()))
    finally:
        still.close(warn=False)
