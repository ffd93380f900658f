"""Emotion label sets and the mapping between dataset spellings and emoscope's canonical names.

emoscope always reports emotions by canonical name (``anger``, ``disgust``, ``fear``, ``happiness``,
``sadness``, ``surprise``, ``neutral``, ``contempt``). Each dataset keeps its own class order; the tuples
below are those orders.
"""

from __future__ import annotations

#: FER2013 class order (the ``emotion`` column 0..6 of ``fer2013.csv``).
FER2013_CLASSES: tuple[str, ...] = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")

#: FER+ emotion order (the first 8 vote columns of ``label.csv`` / ``fer2013new.csv``).
FERPLUS_CLASSES: tuple[str, ...] = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
)

#: All 10 FER+ vote columns: the 8 emotions, then ``unknown`` and ``NF`` (not a face).
FERPLUS_VOTE_COLUMNS: tuple[str, ...] = (*FERPLUS_CLASSES, "unknown", "NF")

#: Micro-expression classes of the MEGC2019 composite (label 0, 1, 2).
MICRO_CLASSES: tuple[str, ...] = ("negative", "positive", "surprise")

_ALIASES = {
    "angry": "anger",
    "anger": "anger",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "scared": "fear",
    "happy": "happiness",
    "happiness": "happiness",
    "joy": "happiness",
    "sad": "sadness",
    "sadness": "sadness",
    "surprise": "surprise",
    "surprised": "surprise",
    "neutral": "neutral",
    "contempt": "contempt",
}


def canonical(name: str) -> str:
    """Return emoscope's canonical spelling of an emotion name (``"happy"`` -> ``"happiness"``).

    Raises ``KeyError`` with the known spellings when the name is not an emotion.
    """
    key = name.strip().lower()
    if key not in _ALIASES:
        raise KeyError(f"unknown emotion name {name!r}; known: {sorted(set(_ALIASES))}")
    return _ALIASES[key]
