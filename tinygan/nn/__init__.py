"""Neural-network building blocks, shaped like torch.nn.

    module.py         Parameter and Module (parameters, submodules, state dicts, train/eval, to)
    layers.py         Linear, the activations (ReLU, LeakyReLU, Tanh, Sigmoid, ELU), Sequential, MLP
    normalization.py  LayerNorm
    functional.py     linear, binary_cross_entropy_with_logits, ... (``tg.nn.functional``)
    utils.py          spectral_norm, clip_grad_norm_, clip_weights_ (``tg.nn.utils``)

``tg.nn.init`` is tinygan.init (the initializers).
"""

from .. import init
from . import functional, utils
from .layers import ACTIVATIONS, ELU, MLP, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh, make_activation
from .module import Module, Parameter
from .normalization import LayerNorm

__all__ = ["Parameter", "Module", "Linear", "Sequential", "MLP", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "ELU",
           "LayerNorm", "make_activation", "ACTIVATIONS", "init", "utils", "functional"]
