"""The training form's hidden layers, activation and KL warm-up: what a run is built from,
what an opened model fills in, what the settings remember."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def form(qtbot):
    from vae_explorer.gui.panels.training_form import TrainingForm

    f = TrainingForm()
    qtbot.addWidget(f)
    return f


def test_layers_and_activation_build_the_iwae_papers_model(form):
    form.latent_dim.setValue(50)
    form.hidden_dim.setValue(200)
    form.hidden_layers.setValue(2)
    form.activation.setCurrentIndex(form.activation.findData("tanh"))
    config = form.job().model_config
    assert config.hidden_dim == (200, 200) and config.activation == "tanh" and config.latent_dim == 50
    form.hidden_layers.setValue(1)
    form.hidden_dim.setValue(400)
    form.activation.setCurrentIndex(form.activation.findData("relu"))
    config = form.job().model_config
    assert config.hidden_dim == 400 and config.activation == "relu"


def test_layers_and_activation_apply_to_a_vaes_mlp_only(form):
    assert form.hidden_layers.isEnabled() and form.activation.isEnabled()
    form.hidden_layers.setValue(3)
    form.arch.setCurrentIndex(form.arch.findData("conv"))
    assert not form.hidden_layers.isEnabled() and not form.activation.isEnabled()
    config = form.job().model_config
    assert config.arch == "conv" and config.hidden_dim == form.hidden_dim.value()
    form.arch.setCurrentIndex(form.arch.findData("mlp"))
    form.kind.setCurrentIndex(form.kind.findData("m2"))
    assert not form.hidden_layers.isEnabled() and not form.activation.isEnabled()
    form.set_enabled(False)
    form.kind.setCurrentIndex(form.kind.findData("vae"))
    assert not form.hidden_layers.isEnabled()  # locked while a run trains
    form.set_enabled(True)
    assert form.hidden_layers.isEnabled()


def test_an_opened_deep_model_fills_layers_and_activation(form):
    from vae_explorer.core.model import VAEConfig

    form.set_model_config(VAEConfig(latent_dim=20, hidden_dim=(300, 300, 300), activation="softplus"))
    assert (form.hidden_dim.value(), form.hidden_layers.value()) == (300, 3)
    assert form.activation.currentData() == "softplus"
    form.set_model_config(VAEConfig())
    shown = (form.hidden_dim.value(), form.hidden_layers.value(), form.activation.currentData())
    assert shown == (256, 1, "tanh")


def test_layers_and_activation_round_trip_through_settings(form, qtbot):
    from vae_explorer.gui.panels.training_form import TrainingForm

    form.hidden_layers.setValue(2)
    form.activation.setCurrentIndex(form.activation.findData("relu"))
    other = TrainingForm()
    qtbot.addWidget(other)
    other.restore_form_state(json.loads(json.dumps(form.form_state())))
    assert other.hidden_layers.value() == 2 and other.activation.currentData() == "relu"
    other.restore_form_state({"hidden_layers": 99, "activation": "sigmoid"})  # damaged: ignored
    assert other.hidden_layers.value() == 2 and other.activation.currentData() == "relu"


def test_kl_warmup_builds_the_run_fills_from_a_model_and_round_trips(form, qtbot):
    from vae_explorer.core.model import VAEConfig
    from vae_explorer.gui.panels.training_form import TrainingForm

    assert form.job().train_config.kl_warmup_epochs == 0 and form.kl_warmup.text() == "no warm-up"
    form.kl_warmup.setValue(10)
    assert form.job().train_config.kl_warmup_epochs == 10
    form.set_model_config(VAEConfig(), {"epochs": 30, "kl_warmup_epochs": 5})
    assert form.kl_warmup.value() == 5
    form.set_model_config(VAEConfig(), {"epochs": 30})  # a file from before warm-up: kept
    assert form.kl_warmup.value() == 5
    other = TrainingForm()
    qtbot.addWidget(other)
    other.restore_form_state(json.loads(json.dumps(form.form_state())))
    assert other.kl_warmup.value() == 5
    form.kind.setCurrentIndex(form.kind.findData("m2"))  # a labelled model has no beta to warm
    assert not form.kl_warmup.isEnabled() and not form.beta.isEnabled()
