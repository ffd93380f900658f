"""Tasks: expression recognition (``expression``), later micro-expressions (``micro``)."""
