"""Motion features: optical flow, optical strain and the micro-expression networks' input."""

from emoscope.features.flow import FLOW_METHODS, flow_to_input, optical_flow, optical_strain
from emoscope.features.micro import (
    AlignedClip,
    ApexSearch,
    MicroInput,
    NoFaceError,
    align_clip,
    find_apex,
    micro_input,
    motion_magnitude,
    stabilise,
)

__all__ = [
    "FLOW_METHODS",
    "AlignedClip",
    "ApexSearch",
    "MicroInput",
    "NoFaceError",
    "align_clip",
    "find_apex",
    "flow_to_input",
    "micro_input",
    "motion_magnitude",
    "optical_flow",
    "optical_strain",
    "stabilise",
]
