"""Neural-network building blocks, shaped like torch.nn.

    module.py         Parameter, Module (parameters, submodules, state dicts, train/eval, to, apply)
    layers.py         Linear, ReLU, Sequential, MLP
    activations.py    LeakyReLU, Tanh, Sigmoid, ELU, Softplus, Identity
    containers.py     ModuleList
    loss.py           BCEWithLogitsLoss, BCELoss, MSELoss
    normalization.py  LayerNorm
    functional.py     linear, binary_cross_entropy_with_logits, ... (``tg.nn.functional``)
    utils.py          spectral_norm, clip_grad_norm_, clip_weights_ (``tg.nn.utils``)

``tg.nn.init`` is tinygan.init (the initializers).
"""

from .. import init
from . import functional, utils
from .activations import ELU, Identity, LeakyReLU, Sigmoid, Softplus, Tanh
from .containers import ModuleList
from .layers import ACTIVATIONS, MLP, Linear, ReLU, Sequential, make_activation
from .loss import BCELoss, BCEWithLogitsLoss, MSELoss
from .module import Module, Parameter
from .normalization import LayerNorm

__all__ = ["Parameter", "Module", "ModuleList", "Linear", "Sequential", "MLP", "ReLU", "LeakyReLU", "Tanh", "Sigmoid",
           "ELU", "Softplus", "Identity", "LayerNorm", "BCEWithLogitsLoss", "BCELoss", "MSELoss", "make_activation",
           "ACTIVATIONS", "init", "utils", "functional"]
