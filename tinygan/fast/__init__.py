"""Speed-ups, each the same numbers as a plain counterpart that the rest of tinygan is written with, and each used
only where code asks for it by name. Read the plain version first; these are tested against it (tests/test_fast.py).

    fused_ops.py    fused graph nodes: linear (x @ W.T + b), linear_relu, binary_cross_entropy_with_logits,
                    one node each way instead of three to five (plain: tinygan/ops, tinygan/nn/functional.py)
    fused_mlp.py    FusedMLP: nn.MLP whose forward runs on those nodes (plain: tinygan/nn/layers.py MLP)
    fused_losses.py the BCE-based GAN losses on the fused BCE node, FUSED_LOSSES by name (plain: tinygan/losses)
    fused_adam.py   Adam's update of a whole parameter group in flat buffers: tg.optim.Adam(..., fused=True)
                    (plain: Adam._update in tinygan/optim/adam.py)
    compiler.py     tg.compile(step): a step recorded as its NumPy calls and replayed without tensors or graph
                    nodes (plain: calling the step)

Who uses them: the trainer builds its models as FusedMLP and its Adam with fused=True (Trainer.from_config in
tinygan/train.py) and takes a loss from FUSED_LOSSES where there is one (Trainer), because toy GANs are small
enough that Python overhead, not arithmetic, dominates a step.
"""

from .compiler import CompiledFunction, compile
from .fused_losses import FUSED_LOSSES
from .fused_mlp import FusedMLP
from .fused_ops import binary_cross_entropy_with_logits, linear, linear_relu

__all__ = ["compile", "CompiledFunction", "FusedMLP", "FUSED_LOSSES", "linear", "linear_relu",
           "binary_cross_entropy_with_logits"]
