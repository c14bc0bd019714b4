"""The VTK classes the render modules use, from their own ``vtkmodules`` (as PyVista does):
``import vtk`` loads every VTK module, about 0.6 s before a still's first frame."""

from vtkmodules.vtkCommonCore import vtkLookupTable, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPlane, vtkPolyData, vtkPolyLine
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkActor2D,
    vtkCoordinate,
    vtkPolyDataMapper,
    vtkPolyDataMapper2D,
    vtkRenderer,
    vtkTextActor,
)

__all__ = [
    "vtkActor",
    "vtkActor2D",
    "vtkCellArray",
    "vtkCoordinate",
    "vtkLookupTable",
    "vtkPlane",
    "vtkPoints",
    "vtkPolyData",
    "vtkPolyDataMapper",
    "vtkPolyDataMapper2D",
    "vtkPolyLine",
    "vtkRenderer",
    "vtkTextActor",
]
