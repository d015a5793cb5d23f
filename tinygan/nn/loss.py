"""Loss modules, PyTorch's: each a Module whose forward calls the function of nn/functional.py.

    criterion = tg.nn.BCEWithLogitsLoss()
    loss_D = criterion(D(real), tg.ones(batch, 1)) + criterion(D(fake), tg.zeros(batch, 1))
"""

from . import functional
from .module import Module


class BCEWithLogitsLoss(Module):
    """The binary cross-entropy from logits (functional.binary_cross_entropy_with_logits)."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return functional.binary_cross_entropy_with_logits(input, target, self.reduction)


class BCELoss(Module):
    """The binary cross-entropy from probabilities (functional.binary_cross_entropy)."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return functional.binary_cross_entropy(input, target, self.reduction)


class MSELoss(Module):
    """The squared error (functional.mse_loss)."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return functional.mse_loss(input, target, self.reduction)
