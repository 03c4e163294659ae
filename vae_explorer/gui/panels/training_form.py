"""The training form: the settings of a new run, and what a run is built from them.

Values come from three places: the user, a remembered form (settings) and an opened
model's config. The last two are files the user may have edited or damaged, so every
value is checked (type, finiteness, range) before it reaches a spin box; a bad one is
ignored, never raised.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from ... import __version__
from ...core.data import DATASETS
from ...core.devices import available_devices
from ...core.labelled import LABEL_BUDGETS, LabelledConfig, LabelledJob
from ...core.model import VAEConfig
from ...core.training import TrainConfig, TrainingJob
from .form_fields import (
    RangeNote,
    checked_number,
    combo,
    first_tooltip,
    float_spin,
    int_spin,
    one_row,
    select,
    set_number,
)

LIKELIHOOD_CHOICES = [
    ("Cross-entropy (Bernoulli)", "bernoulli"),
    ("Squared error (Gaussian)", "gaussian"),
]
ARCH_CHOICES = [("MLP", "mlp"), ("Convolutional", "conv")]
ACTIVATION_CHOICES = [("tanh", "tanh"), ("ReLU", "relu"), ("softplus", "softplus")]
KIND_CHOICES = [("VAE", "vae"), ("Semi-supervised M2", "m2"), ("M1+M2", "m1m2")]
KIND_TIPS = {
    "vae": "A variational autoencoder: learns from the images alone (no labels)",
    "m2": "Kingma et al. 2014's M2: a classifier q(y|x), an encoder q(z|x,y) and a decoder "
    "p(x|y,z), trained on a few labelled images and the rest unlabelled; z holds the style",
    "m1m2": "M1+M2: a VAE (M1) trained on all images first, then M2 on its active latent "
    "units (the paper's most accurate model with few labels)",
}
# How many training images keep their label (balanced over classes); "all" = a conditional VAE.
LABEL_CHOICES: list[tuple[str, int | str]] = [(f"{n:,}", n) for n in LABEL_BUDGETS] + [("all", "all")]
LABELS_TIP = (
    "Labelled training images (balanced over the classes, chosen by the seed); the rest are "
    'used without their labels. "all": every label, i.e. a conditional VAE'
)
MAX_FORM_LAYERS = 4
LIVE_SNAPSHOT_SECONDS = 2.0  # the longest the views wait for a run's new weights mid-epoch
MAX_FORM_DROPOUT = 0.99  # the CLI's limit: below 1
GUI_COMMAND = f"VAE Explorer {__version__} (GUI)"  # what a checkpoint records as its maker


class TrainingForm(QWidget):
    """Dataset, model and optimiser settings as labelled fields (a QFormLayout)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset = QComboBox()
        for name, info in DATASETS.items():
            self.dataset.addItem(info.title, name)
        self.dataset.setToolTip("Training data (also shown in the latent scatter)")
        self.kind = QComboBox()
        for i, (text, value) in enumerate(KIND_CHOICES):
            self.kind.addItem(text, value)
            self.kind.setItemData(i, KIND_TIPS[value], Qt.ItemDataRole.ToolTipRole)
        self.kind.setToolTip(
            "The model to train: a VAE, or a semi-supervised model that also learns to "
            "classify from a few labels (Kingma et al. 2014)"
        )
        self.labels = QComboBox()
        for text, count in LABEL_CHOICES:
            self.labels.addItem(text, count)
        self.labels.setToolTip(LABELS_TIP)
        self.classifier_dropout = float_spin(
            0.0, MAX_FORM_DROPOUT, 0.0, 0.1, 2,
            "Dropout on the classifier q(y|x)'s hidden units while training: it keeps the "
            "classifier from learning its few labels by heart. On MNIST's M1+M2, 0.5 lowered the "
            "test error with 600 labels or more and raised it with 100",
        )  # fmt: skip
        self.classifier_dropout.setSpecialValueText("no dropout")
        self.classifier_dropout.setSuffix(" dropout")
        self.likelihood = combo(
            LIKELIHOOD_CHOICES,
            "Decoder likelihood p(x|z): Bernoulli = cross-entropy loss, Gaussian = squared-error loss",
        )
        self.latent_dim = int_spin(1, 64, 2, "Dimensions of z (2 shows the latent space directly)")
        self.hidden_dim = int_spin(8, 4096, 256, "Hidden units in each hidden layer of encoder and decoder")
        self.hidden_layers = int_spin(
            1, MAX_FORM_LAYERS, 1,
            "Hidden layers of the MLP encoder (the decoder mirrors them): 1 = the classic "
            "784-256-2; 2 with 200 units and latent dim 50 = the IWAE paper's model. Layers of "
            "different sizes: vae-explorer train --hidden-dim 600,300",
        )  # fmt: skip
        self.activation = combo(
            ACTIVATION_CHOICES,
            "Activation of the MLP's hidden layers (tanh: the classic model; ReLU: pytorch/examples)",
        )
        self.arch = combo(
            ARCH_CHOICES,
            "Encoder and decoder: fully connected (MLP, the classic model) or convolutional "
            "(two stride-2 convolutions each way; labelled models are MLPs)",
        )
        self.epochs = int_spin(1, 10_000, 20, "Passes over the training set")
        self.m1_epochs = int_spin(
            1, 10_000, LabelledJob.m1_epochs,
            "M1+M2 trains M1, a VAE, on every image for this many epochs first; then M2, on "
            "M1's latents, for Epochs",
        )  # fmt: skip
        self.batch_size = int_spin(1, 60_000, 100, "Images per gradient step")
        self.lr = float_spin(
            0.00001, 1.0, TrainConfig.lr, 0.0005, 5,
            "Peak Adam learning rate, annealed to 0 over the run by a cosine",
        )  # fmt: skip
        self.beta = float_spin(0.0, 100.0, 1.0, 0.1, 3, "KL weight β (1 = the ELBO; > 1 = β-VAE)")
        self.kl_warmup = int_spin(
            0, 1000, 0, "KL warm-up: the KL weight climbs from ~0 to β over this many epochs, so "
            "fewer latent units collapse to the prior early in the run (0 = off)"
        )  # fmt: skip
        self.kl_warmup.setSpecialValueText("no warm-up")
        self.kl_warmup.setSuffix(" ep warm-up")
        self.seed = int_spin(0, 2**31 - 1, 0, "Random seed (initial weights, batches, noise)")
        self.device = QComboBox()
        for dev in available_devices():
            self.device.addItem(dev.upper() if dev != "mps" else "Apple GPU (MPS)", dev)
        self.device.setToolTip("Only devices present on this machine are offered")
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # Rows that apply to one kind of model only are shown for it alone.
        self._labelled_rows = (self._labels_row(),)
        self._m1m2_rows = (self.m1_epochs,)
        self._vae_rows = (self.arch, self._beta_row())
        for label, field in (
            ("Dataset", self.dataset),
            ("Model", self.kind),
            ("Labels", self._labelled_rows[0]),
            ("Likelihood", self.likelihood),
            ("Latent dim", self.latent_dim),
            ("Architecture", self._vae_rows[0]),
            ("Hidden layers", self._layers_row()),
            ("M1 epochs", self.m1_epochs),
            ("Epochs", self.epochs),
            ("Batch size", self.batch_size),
            ("Learning rate", self.lr),
            ("KL weight β", self._vae_rows[1]),
            ("Seed", self.seed),
            ("Device", self.device),
        ):
            form.addRow(label, field)
        self._form = form
        # A typed value outside a field's range is pulled into it; this line says so.
        self.range_note = QLabel()
        self.range_note.setWordWrap(True)
        self.range_note.setStyleSheet("color: #f2b05e;")
        self.range_note.setVisible(False)
        form.addRow(self.range_note)
        names = {
            "latent_dim": "Latent dim",
            "hidden_dim": "Hidden units",
            "hidden_layers": "Hidden layers",
            "epochs": "Epochs",
            "m1_epochs": "M1 epochs",
            "batch_size": "Batch size",
            "lr": "Learning rate",
            "beta": "KL weight β",
            "kl_warmup_epochs": "KL warm-up",
            "seed": "Seed",
            "classifier_dropout": "Classifier dropout",
        }
        spins = self._spins()
        self._ranges = RangeNote(self.range_note, {names[key]: spin for key, spin in spins.items()})
        for row in range(form.rowCount()):  # a row's name explains as its field does
            name_item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            field_item = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            name_widget = name_item.widget() if name_item is not None else None
            if isinstance(name_widget, QLabel) and field_item is not None:
                name_widget.setToolTip(first_tooltip(field_item.widget()))
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self.arch.currentIndexChanged.connect(self._on_kind_changed)
        self._on_kind_changed()

    def _layers_row(self) -> QWidget:
        """ "[layers] × [units] [activation]" on one row, e.g. 2 × 200 tanh."""
        self.hidden_layers.setMinimumWidth(44)
        return one_row((self.hidden_layers, 2), (QLabel("×"), 0), (self.hidden_dim, 3), (self.activation, 3))

    def _labels_row(self) -> QWidget:
        """ "[labels] [classifier dropout]" on one row."""
        for field in (self.labels, self.classifier_dropout):
            field.setMinimumWidth(60)
        return one_row((self.labels, 2), (self.classifier_dropout, 3))

    def _beta_row(self) -> QWidget:
        """ "[β] [warm-up epochs]" on one row."""
        for spin in (self.beta, self.kl_warmup):  # their widest texts must not widen the dock
            spin.setMinimumWidth(60)
        return one_row((self.beta, 2), (self.kl_warmup, 3))

    def summary(self) -> str:
        """The run these settings describe, on one line (training_summary.py)."""
        from .training_summary import run_summary

        return run_summary(self)

    def is_labelled(self) -> bool:
        return self.kind.currentData() != "vae"

    def _on_kind_changed(self) -> None:
        """Labels only for labelled models; the convolutional net and beta only for a VAE
        (the rows that do not apply are hidden); layers and activation only for a VAE's MLP."""
        labelled = self.is_labelled()
        unlocked = self.dataset.isEnabled()
        for row in self._labelled_rows:
            self._form.setRowVisible(row, labelled)
        for row in self._vae_rows:
            self._form.setRowVisible(row, not labelled)
        m1m2 = self.kind.currentData() == "m1m2"
        for row in self._m1m2_rows:
            self._form.setRowVisible(row, m1m2)
        self.m1_epochs.setEnabled(m1m2 and unlocked)
        self.labels.setEnabled(labelled and unlocked)
        self.classifier_dropout.setEnabled(labelled and unlocked)
        for w in (self.arch, self.beta, self.kl_warmup):
            w.setEnabled(not labelled and unlocked)
        if labelled:
            select(self.arch, "mlp")
        mlp_vae = not labelled and self.arch.currentData() == "mlp"
        self.hidden_layers.setEnabled(mlp_vae and unlocked)
        self.activation.setEnabled(mlp_vae and unlocked)

    def set_enabled(self, enabled: bool) -> None:
        """Lock (a run trains) or unlock every field; unlocked, only those that apply."""
        for w in self.fields():
            w.setEnabled(enabled)
        if enabled:
            self._on_kind_changed()

    def fields(self) -> tuple[QWidget, ...]:
        """Every input of the form (disabled together while a run trains)."""
        return (
            self.dataset,
            self.kind,
            self.labels,
            self.classifier_dropout,
            self.likelihood,
            self.latent_dim,
            self.hidden_dim,
            self.hidden_layers,
            self.activation,
            self.arch,
            self.m1_epochs,
            self.epochs,
            self.batch_size,
            self.lr,
            self.beta,
            self.kl_warmup,
            self.seed,
            self.device,
        )

    def _spins(self) -> dict[str, QSpinBox | QDoubleSpinBox]:
        return {
            "latent_dim": self.latent_dim,
            "hidden_dim": self.hidden_dim,
            "hidden_layers": self.hidden_layers,
            "epochs": self.epochs,
            "m1_epochs": self.m1_epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "beta": self.beta,
            "kl_warmup_epochs": self.kl_warmup,
            "seed": self.seed,
            "classifier_dropout": self.classifier_dropout,
        }

    # --- filling the form ------------------------------------------------------------------
    def set_model_config(
        self,
        config: VAEConfig | LabelledConfig,
        train_config: dict[str, Any] | None = None,
        labels: object = None,
        m1_epochs: object = None,
    ) -> None:
        """Fill the form from an opened model (and the settings it was trained with; for a
        labelled model, ``labels``: its label count, or "all"; for M1+M2, ``m1_epochs``: M1's).

        Numbers from the file are clamped into each field's range (a model trained for
        more epochs than the field allows still fills it); odd values are skipped."""
        kind = getattr(config, "kind", "vae")
        select(self.kind, kind)
        select(self.likelihood, config.likelihood)
        values: dict[str, Any] = {"latent_dim": config.latent_dim, "hidden_dim": config.hidden_dim}
        if isinstance(config, VAEConfig):
            select(self.arch, config.arch)
            select(self.activation, config.activation)
            sizes = config.hidden_sizes  # layers of different sizes come back as the first size
            values.update(hidden_dim=sizes[0], hidden_layers=len(sizes))
        else:
            values["classifier_dropout"] = config.classifier_dropout
            if m1_epochs:  # (a given M1 of unknown length records 0: the field keeps its value)
                values["m1_epochs"] = m1_epochs
            if labels == "all" or (not isinstance(labels, bool) and labels in LABEL_BUDGETS):
                select(self.labels, labels)
        if isinstance(train_config, dict):
            keys = ("epochs", "batch_size", "lr", "beta", "kl_warmup_epochs", "seed")
            values.update({k: train_config.get(k) for k in keys})
        spins = self._spins()
        for key, value in values.items():
            set_number(spins[key], checked_number(spins[key], value, clamp=True))

    def form_state(self) -> dict[str, Any]:
        """The form's values (for QSettings)."""
        values: dict[str, Any] = {
            "likelihood": self.likelihood.currentData(),
            "arch": self.arch.currentData(),
            "activation": self.activation.currentData(),
            "kind": self.kind.currentData(),
            "labels": self.labels.currentData(),
        }
        values.update({key: spin.value() for key, spin in self._spins().items()})
        values["device"] = self.device.currentData()
        return values

    def restore_form_state(self, state: object) -> None:
        """Undo :meth:`form_state`. Each value is used only if it has the right type and
        lies in its field's range (finite); anything else (a damaged or hand-edited
        settings file) is ignored and the field keeps its value."""
        if not isinstance(state, dict):
            return
        combos = (
            (self.likelihood, "likelihood"), (self.arch, "arch"), (self.device, "device"),
            (self.kind, "kind"), (self.labels, "labels"), (self.activation, "activation"),
        )  # fmt: skip
        for box, key in combos:
            value = state.get(key)
            if isinstance(value, str) or (key == "labels" and value in LABEL_BUDGETS):
                select(box, value)
        for key, spin in self._spins().items():
            set_number(spin, checked_number(spin, state.get(key), clamp=False))

    # --- the run ---------------------------------------------------------------------------
    def job(
        self, train_limit: int | None = None, torch_threads: int | None = None
    ) -> TrainingJob | LabelledJob:
        """The run the form describes (ConfigError, a ValueError, for impossible values):
        a TrainingJob for a VAE, a LabelledJob for M2 / M1+M2."""
        conv = self.arch.currentData() == "conv"
        model_config = VAEConfig(
            latent_dim=self.latent_dim.value(),
            hidden_dim=(self.hidden_dim.value(),) * (1 if conv else self.hidden_layers.value()),
            likelihood=self.likelihood.currentData(),
            arch=self.arch.currentData(),
            activation="tanh" if conv else str(self.activation.currentData()),
        )
        batch = self.batch_size.value()
        train_config = TrainConfig(
            epochs=self.epochs.value(),
            batch_size=batch,
            lr=self.lr.value(),
            beta=self.beta.value(),
            kl_warmup_epochs=self.kl_warmup.value(),
            seed=self.seed.value(),
            device=self.device.currentData(),
            # ~8 curve points and one scatter snapshot per epoch of 60,000 images, or one every
            # two seconds where an epoch takes longer (a slow or busy machine): the views stay
            # live while the GUI thread's share of the CPU (and GIL) stays small.
            log_every=max(1, 7500 // batch),
            snapshot_every=max(1, 60_000 // batch),
            snapshot_seconds=LIVE_SNAPSHOT_SECONDS,
        )
        if self.is_labelled():
            labels = self.labels.currentData()
            return LabelledJob(
                LabelledConfig(
                    kind=str(self.kind.currentData()),
                    latent_dim=self.latent_dim.value(),
                    hidden_dim=self.hidden_dim.value(),
                    likelihood=str(self.likelihood.currentData()),
                    classifier_dropout=self.classifier_dropout.value(),
                ),
                replace(train_config, beta=1.0, kl_warmup_epochs=0.0),
                labels=None if labels == "all" else int(labels),
                m1_epochs=self.m1_epochs.value(),
                dataset=str(self.dataset.currentData()),
                train_limit=train_limit,
                torch_threads=torch_threads,
                command=GUI_COMMAND,
            )
        return TrainingJob(
            model_config,
            train_config,
            dataset=str(self.dataset.currentData()),
            train_limit=train_limit,
            torch_threads=torch_threads,
            command=GUI_COMMAND,
        )
