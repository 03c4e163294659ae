"""Qt-free engine: data, model, training, evaluation, imputation, checkpoints."""
