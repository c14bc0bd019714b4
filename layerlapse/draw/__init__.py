"""What a frame holds, independent of any drawing library (numpy and pydantic only).

:mod:`~layerlapse.draw.style` (how things look), :mod:`~layerlapse.draw.camera` (the camera
path), :mod:`~layerlapse.draw.colour` (colours parsed as PyVista parses them),
:mod:`~layerlapse.draw.model` (the parts and overlays every back-end draws),
:mod:`~layerlapse.draw.meshes` and :mod:`~layerlapse.draw.geometry` (per-frame and shared
geometry), :mod:`~layerlapse.draw.heat` (the heat map's colours and ticks) and
:mod:`~layerlapse.draw.source` (what a frame source can show). Never imports pyvista or VTK:
the VTK back-end is :mod:`layerlapse.render`, the web page :mod:`layerlapse.web`.
"""
