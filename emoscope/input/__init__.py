"""Input stage: reading images (and, later, video) into NumPy arrays with clear errors."""

from emoscope.input.images import MAX_IMAGE_PIXELS, read_image, read_image_bytes, to_grey_uint8

__all__ = ["MAX_IMAGE_PIXELS", "read_image", "read_image_bytes", "to_grey_uint8"]
