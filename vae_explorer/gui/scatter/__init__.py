"""The latent scatter view: points (point_cloud), class legend (legend), colouring by a
per-image quantity and its colour bar (colour_by, colour_bar), crosshair and canvas
posterior (markers), hover thumbnails (hover_card), the mouse hint (hint), mouse routing
(plot), and the view that ties them to the ExplorerState (view)."""

from .view import LatentScatterView

__all__ = ["LatentScatterView"]
