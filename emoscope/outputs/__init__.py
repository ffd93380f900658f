"""Outputs: typed result objects (to dict / JSON / pandas) and plots."""

from emoscope.outputs.results import FaceResult, ImageResult, results_to_dataframe

__all__ = ["FaceResult", "ImageResult", "results_to_dataframe"]
