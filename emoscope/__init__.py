"""emoscope: read human emotion from faces, offline, fast on a CPU.

>>> import emoscope
>>> result = emoscope.analyze("photo.jpg")          # every face: box, label, probabilities
>>> result.faces[0].label, result.to_dataframe()
>>> video = emoscope.analyze_video("clip.mp4")   # every face on every frame, stable ids: video.to_dataframe()
>>> micro = emoscope.MicroRecognizer().analyze_pair(onset_bgr, apex_bgr)   # negative / positive / surprise
"""

from emoscope.api import Analyzer, analyze, analyze_aligned
from emoscope.outputs.micro_results import MicroResult
from emoscope.outputs.results import FaceResult, ImageResult, results_to_dataframe
from emoscope.tasks.expression.predictor import ExpressionRecognizer
from emoscope.tasks.micro.predictor import MicroRecognizer
from emoscope.tasks.video import VideoResult, analyze_video

__version__ = "0.1.0"
__all__ = ["Analyzer", "ExpressionRecognizer", "analyze", "FaceResult", "ImageResult", "analyze_aligned", "results_to_dataframe",
           "analyze_video", "VideoResult", "MicroRecognizer", "MicroResult"]
