"""The scatter of a labelled model (its style space): colour by predicted class, ring the
misclassified test points, mark the labelled training examples at their z under their true
labels; the VAE-only quantities are disabled, and the extra choices leave with the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture
def m2(mnist_train):
    from vae_explorer.core.labelled import LabelledConfig, labelled_indices
    from vae_explorer.gui.labelled import ExplorerLabelledModel

    torch.manual_seed(2)
    config = LabelledConfig(latent_dim=2, hidden_dim=32, classifier_hidden_dim=32)
    model = ExplorerLabelledModel(config).eval()
    return model, labelled_indices(mnist_train.labels, 100, 0)


@pytest.fixture(scope="module")
def mnist_train():
    from vae_explorer.core.data import DatasetRef

    return DatasetRef.from_key("mnist").load("train")


def choose(qtbot, view, quantity):
    control = view.colour_by
    control.combo.setCurrentIndex(control.combo.findData(quantity))
    qtbot.waitUntil(lambda: not control.is_busy() and control.marks.found is not None, timeout=20_000)
    qtbot.wait(10)  # the marks are placed on the next pass of the event loop


def items(combo):
    return [combo.itemData(i) for i in range(combo.count())]


def test_labelled_model_colours_and_marks(qtbot, view, state, m2, mnist_train):
    from vae_explorer.core.figures import CLASS_PALETTE
    from vae_explorer.core.labelled import predict_labels

    vae = state.model
    combo = view.colour_by.combo
    assert "predicted" not in items(combo)
    model, indices = m2
    state.set_model(model, {}, None, arrays={"labelled_indices": indices})
    assert items(combo)[:4] == ["class", "predicted", "misclassified", "labelled"]
    elbo = combo.model().item(combo.findData("elbo"))
    assert not elbo.isEnabled() and "VAE" in elbo.toolTip()
    images, labels = state.test_set.images, state.test_set.labels.astype(np.int64)
    predicted = predict_labels(model, images)
    cloud = view.cloud

    choose(qtbot, view, "predicted")
    np.testing.assert_array_equal(cloud.colour_indices(), predicted)

    choose(qtbot, view, "misclassified")
    wrong = predicted != labels
    assert 0 < wrong.sum() < len(wrong)
    np.testing.assert_array_equal(cloud.colour_indices(), np.where(wrong, labels, len(CLASS_PALETTE)))
    marks = view.colour_by.marks
    assert marks.rings.isVisible() and f"{int(wrong.sum()):,} of" in marks.summary
    note = view.marks_note  # the key to the rings, under the legend, beside the points
    assert note.isVisible() and note.toPlainText() == marks.summary and "misclassified" in note.toPlainText()
    assert note.sceneBoundingRect().top() >= view.legend.sceneBoundingRect().bottom()
    assert not note.sceneBoundingRect().intersects(view.vb.sceneBoundingRect())
    rx, ry = marks.rings.getData()
    x, y = cloud.points()
    np.testing.assert_allclose(rx, x[wrong])
    np.testing.assert_allclose(ry, y[wrong])

    choose(qtbot, view, "labelled")
    assert not marks.rings.isVisible() and marks.examples.isVisible()
    assert note.toPlainText() == f"◆ the {len(indices):,} labelled training examples"
    true = mnist_train.labels[indices].astype(np.int64)
    mu = model.encode(mnist_train.images[indices], true)[0].numpy()
    ex, ey = marks.examples.getData()
    np.testing.assert_allclose(ex, mu[:, 0], atol=1e-5)
    np.testing.assert_allclose(ey, mu[:, 1], atol=1e-5)
    np.testing.assert_array_equal(cloud.colour_indices(), state.test_set.labels)

    # back to a VAE: the labelled choices and marks leave, the VAE's come back
    state.set_model(vae, {}, None)
    assert "labelled" not in items(combo) and combo.currentData() == "class"
    assert combo.model().item(combo.findData("elbo")).isEnabled()
    qtbot.wait(10)
    assert not marks.examples.isVisible() and not note.isVisible()
