"""emoscope: read human emotion from faces, offline, fast on a CPU.

>>> import emoscope
>>> result = emoscope.analyze_aligned("face.png")   # an aligned face crop
>>> result.faces[0].label, result.to_dataframe()
"""

from emoscope.api import analyze_aligned
from emoscope.outputs.results import FaceResult, ImageResult, results_to_dataframe
from emoscope.tasks.expression.predictor import ExpressionRecognizer

__version__ = "0.1.0"
__all__ = ["ExpressionRecognizer", "FaceResult", "ImageResult", "analyze_aligned", "results_to_dataframe"]
