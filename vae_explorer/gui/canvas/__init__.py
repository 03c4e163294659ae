"""The Canvas dock: paint a digit, mask pixels away, watch the model impute them.

panel.py (CanvasPanel: state wiring, encoding, imputation), controls.py (its widgets,
actions and tooltips), paint_canvas.py (the 28x28 canvas with undo), brush.py (brush
footprints, numpy), tiles.py (the Original / Masked / Imputed tiles), icons.py,
impute_runner.py (the background imputation job).
"""

from .panel import CanvasPanel

__all__ = ["CanvasPanel"]
