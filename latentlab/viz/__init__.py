"""Figures (plotly): functions take arrays/tensors and return go.Figure; no computation inside."""
from .images import image_trace, png_data_uri, to_uint8_grid

__all__ = ["image_trace", "png_data_uri", "to_uint8_grid"]
