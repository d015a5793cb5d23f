"""FusedMLP: tg.nn.MLP run on fused graph nodes (fast/fused_ops.py).

It is an nn.MLP in every other way (the same layers, parameter names, state dict and initialisation), so weights
move freely between the two; only forward differs: each Linear layer followed by a ReLU runs as one linear_relu
node, every other Linear layer as one linear node, and any other activation as its own module. The numbers are
those of nn.MLP (tests/test_fast.py compares them, bit for bit forward, to float rounding for gradients).
"""

from ..nn.layers import MLP, Linear, ReLU
from .fused_ops import linear, linear_relu


class FusedMLP(MLP):
    """tg.nn.MLP with a forward on fused nodes: half the graph of the plain MLP, the same parameters."""

    def forward(self, x):
        layers = list(self.net)
        index = 0
        while index < len(layers):
            layer = layers[index]
            following = layers[index + 1] if index + 1 < len(layers) else None
            if isinstance(layer, Linear) and isinstance(following, ReLU):
                x = linear_relu(x, layer.weight, layer.bias)
                index += 2
            elif isinstance(layer, Linear):
                x = linear(x, layer.weight, layer.bias)
                index += 1
            else:
                x = layer(x)
                index += 1
        return x
