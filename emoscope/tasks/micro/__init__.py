"""Micro-expression recognition on optical flow: augmentation, Leave-One-Subject-Out training and scoring."""
