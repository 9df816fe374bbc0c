"""Interactive panels for notebooks and Voila: the only code that imports ipywidgets."""

from cmrlab.widgets.explorer import DATASETS, MODELS, POLYN, RETRIEVALS, Explorer, PolynFigures
from cmrlab.widgets.model_inside import ModelInside

__all__ = ["DATASETS", "MODELS", "POLYN", "RETRIEVALS", "Explorer", "ModelInside", "PolynFigures"]
