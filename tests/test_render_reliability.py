"""The window and the figures where they used to fail: ``show`` stopped by a signal while its
window is open (issue 23, case 7), and the text of vector figures (case 9)."""

import ctypes
import ctypes.util
import signal
import subprocess
import sys
import time

import pytest

EPOCHS = ["--epochs", "3"]


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
    path = tmp_path_factory.mktemp("network") / "two-curves.pt"
    subprocess.run([sys.executable, "-m", "layerlapse", "train", "two-curves", *EPOCHS, "--no-progress",
                    "--checkpoint", str(path)], check=True, capture_output=True, timeout=180)
    return path


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
