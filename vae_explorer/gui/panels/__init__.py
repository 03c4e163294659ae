"""The docked panels around the latent scatter. Each takes the window's ExplorerState,
draws from it and changes it only through its setters:

- ``DecoderPreview``: decode(current z), and the picked test image beside its reconstruction
- ``LatentGridPanel``: the N x N mosaic of decoded codes (the manifold); a tile click sets z
- ``SamplesPanel``: images decoded from prior draws z ~ N(0, I)
- ``TrainingPanel``: the run's settings, start / pause / stop, live readout and curves
"""

from .curves import TrainingCurves
from .decoder_preview import DecoderPreview
from .latent_grid import LatentGridPanel
from .samples import SamplesPanel
from .training import TrainingPanel

__all__ = ["DecoderPreview", "LatentGridPanel", "SamplesPanel", "TrainingCurves", "TrainingPanel"]
