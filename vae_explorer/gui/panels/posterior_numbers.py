"""The posterior dock's numbers: log p(x), ELBO, KL and the two gaps in a compact grid.

Two quantities per row (one per row in a narrow dock), each name's plain-words meaning in
its tooltip and one line under the grid saying how they add up: the numbers take about
four text lines, so the latent plane above keeps the dock's height.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from .posterior_job import PosteriorResult

# name, Posterior field (or "kl"), one line in plain words
QUANTITIES = (
    ("log p(x)", "log_px", "how likely the model finds this image (summed exactly over the grid)"),
    ("ELBO", "elbo", "the encoder's lower bound on log p(x): what training maximises"),
    ("KL(q ‖ p(z|x))", "kl", "how far the encoder's guess is from the true posterior (= log p(x) − ELBO)"),
    (
        "approx. gap",
        "approximation_gap",
        "approximation gap: what even the best Gaussian for this image loses, because the true "
        "posterior is not Gaussian",
    ),
    (
        "amortis. gap",
        "amortisation_gap",
        "amortisation gap: what the encoder loses by guessing for all images at once instead of "
        "fitting this one",
    ),
)
SUMMARY = "in nats · KL = approx. gap + amortis. gap"
TWO_COLUMNS_WIDTH = 250  # pixels: narrower than this, one quantity per row


class PosteriorNumbers(QWidget):
    """Name / value pairs in a grid, reflowed to the width; ``text()`` for tests and copy."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._names: list[QLabel] = []
        self._values: list[QLabel] = []
        for name, _, words in QUANTITIES:
            label = QLabel(f"<b>{name}</b>")
            label.setToolTip(f"<b>{name}</b>: {words}")
            value = QLabel("–")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setToolTip(label.toolTip())
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._names.append(label)
            self._values.append(value)
        self.summary = QLabel(SUMMARY)
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color: #9e9e9e; font-size: small;")
        self.summary.setToolTip("Hover a name for what it means")
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(8)
        self.grid.setVerticalSpacing(1)
        self._columns = 0
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(self.grid)
        lay.addWidget(self.summary)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._reflow(2)

    def show_result(self, result: PosteriorResult | None) -> None:
        """The five quantities of ``result`` (dashes for None or a non-finite value)."""
        post = result.posterior if result is not None else None
        shown: dict[str, float] = {}
        for field in (f for _, f, _ in QUANTITIES):
            if post is not None and result is not None:
                shown[field] = round(result.kl if field == "kl" else float(getattr(post, field)), 2)
        # As shown, KL = log p(x) - ELBO and KL = the two gaps, as they are exactly (0.01 + 1.94
        # beside a KL of 1.94 read as an error): the KL and then the amortisation gap are
        # shown as the rest of the rounded others, each within rounding of its own value.
        rest = (("kl", "log_px", "elbo"), ("amortisation_gap", "kl", "approximation_gap"))
        for field, whole, part in rest:
            if all(math.isfinite(shown.get(f, math.nan)) for f in (field, whole, part)):
                shown[field] = shown[whole] - shown[part]
        for (_, field, _), value in zip(QUANTITIES, self._values, strict=True):
            x = shown.get(field, math.nan)
            value.setText(f"{x:.2f}" if math.isfinite(x) else "–")

    def clear(self) -> None:
        self.show_result(None)

    def text(self) -> str:
        """What is on show as plain lines: "name value" per quantity."""
        return "\n".join(
            f"{name} {value.text()}" for (name, _, _), value in zip(QUANTITIES, self._values, strict=True)
        )

    def explanation(self, name: str) -> str:
        """The plain-words meaning of quantity ``name`` (its tooltip)."""
        for (n, _, _), label in zip(QUANTITIES, self._names, strict=True):
            if n == name:
                return label.toolTip()
        raise KeyError(name)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """One quantity per row: the grid reflows to two when there is room."""
        names = max(n.sizeHint().width() for n in self._names)
        values = max(v.fontMetrics().horizontalAdvance("-0000.00") for v in self._values)
        return QSize(names + values + 8, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._reflow(2 if event.size().width() >= TWO_COLUMNS_WIDTH else 1)

    def _reflow(self, columns: int) -> None:
        if columns == self._columns:
            return
        self._columns = columns
        while self.grid.count():
            self.grid.takeAt(0)
        for i, (name, value) in enumerate(zip(self._names, self._values, strict=True)):
            row, pair = divmod(i, columns)
            self.grid.addWidget(name, row, 2 * pair)
            self.grid.addWidget(value, row, 2 * pair + 1)
        for c in range(4):
            self.grid.setColumnStretch(c, 1 if c % 2 and c < 2 * columns else 0)
