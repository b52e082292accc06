"""Argument checks shared by the model builders."""
from ..errors import ModelError


def check_classes(num_classes):
    """Refuse fewer than two classes (a classifier needs at least two)."""
    if int(num_classes) < 2:
        raise ModelError(f"num_classes must be at least 2, got {num_classes}.")
