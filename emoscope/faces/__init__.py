"""Face stage: detection with landmarks, alignment to FER2013's framing, and preparation of crops for the models.

The detector (``dlib`` backend) is imported lazily: ``import emoscope.faces`` does not load dlib or its models.
"""

from emoscope.faces.align import align_face, align_faces, alignment_matrix, eye_template
from emoscope.faces.detect import (
    LANDMARK_NAMES,
    Detection,
    FaceDetector,
    available_detectors,
    create_detector,
    register_detector,
)
from emoscope.faces.preprocess import FACE_SIZE, prepare_face, prepare_faces

__all__ = [
    "FACE_SIZE",
    "LANDMARK_NAMES",
    "Detection",
    "FaceDetector",
    "align_face",
    "align_faces",
    "alignment_matrix",
    "available_detectors",
    "create_detector",
    "eye_template",
    "prepare_face",
    "prepare_faces",
    "register_detector",
]
