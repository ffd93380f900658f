"""Face stage: preparing face crops for the models (detection and alignment come in P2)."""

from emoscope.faces.preprocess import FACE_SIZE, prepare_face, prepare_faces

__all__ = ["FACE_SIZE", "prepare_face", "prepare_faces"]
