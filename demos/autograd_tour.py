"""A tour of tinygan's autograd, read top to bottom.

    python demos/autograd_tour.py --out runs/tour

1. A tiny MLP: forward, backward, and the computation graph backward walks (written as Graphviz DOT).
2. Your own differentiable op, written as a tg.Function, checked with gradcheck and gradgradcheck,
   and a deliberately wrong one that gradcheck catches.
3. A Hessian-vector product by differentiating a gradient (create_graph=True), checked by finite differences.
4. A WGAN-GP style gradient penalty, the reason gradients of gradients matter for GANs.

Everything is printed; the graph is written to OUT/mlp_graph.dot, and to OUT/mlp_graph.png when Graphviz's
`dot` is installed.
"""

import argparse
import os
import shutil
import subprocess

import tinygan as tg

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="runs/autograd_tour", help="folder for the files the tour writes")
parser.add_argument("--quick", action="store_true", help="smaller sizes (the tour is fast either way)")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
generator = tg.Generator(seed=0)
width = 4 if args.quick else 8

# ----------------------------------------------------------------------------------------------------------------
print("1. A tiny MLP 2 -> %d -> 1 on a batch of 5 points" % width)
x = tg.randn(5, 2, generator=generator)
w1 = tg.randn(2, width, generator=generator, requires_grad=True)
b1 = tg.zeros(width, requires_grad=True)
w2 = tg.randn(width, 1, generator=generator, requires_grad=True)
logits = (x @ w1 + b1).relu() @ w2
loss = tg.softplus(-logits).mean()          # -log sigmoid(logits): the "real" half of the GAN discriminator loss
print("   loss =", round(loss.item(), 5), "  grad_fn =", loss.grad_fn)

graph_path = os.path.join(args.out, "mlp_graph.dot")
with open(graph_path, "w") as handle:
    handle.write(loss.graph(name="loss"))
print("   the graph backward will walk is in", graph_path)
if shutil.which("dot"):  # Graphviz is optional: render a picture when it is installed
    subprocess.run(["dot", "-Tpng", graph_path, "-o", graph_path.replace(".dot", ".png")], check=True)
    print("   rendered to", graph_path.replace(".dot", ".png"))

loss.backward()
print("   dL/dw2 =", w2.grad.numpy().ravel().round(4))
print("   dL/db1 =", b1.grad.numpy().round(4))

# ----------------------------------------------------------------------------------------------------------------
print("\n2. Your own op: swish(x) = x * sigmoid(x), forward on arrays, backward in tinygan ops")


class Swish(tg.Function):
    @staticmethod
    def forward(ctx, x):                      # x is a raw numpy (or cupy) array
        ctx.save_for_backward(x)
        xp = tg.backend.array_namespace(x)    # numpy or cupy: the same code runs on either device
        return x / (1 + xp.exp(-x))

    @staticmethod
    def backward(ctx, grad):                  # grad is a Tensor
        (x,) = ctx.saved_tensors
        s = x.sigmoid()
        return grad * (s + x * s * (1 - s))   # d/dx [x s(x)] = s + x s (1 - s), in differentiable ops


point = tg.randn(3, 4, dtype=tg.float64, generator=generator, requires_grad=True)
print("   gradcheck:    ", tg.testing.gradcheck(Swish.apply, (point,)))
print("   gradgradcheck:", tg.testing.gradgradcheck(Swish.apply, (point,)))


class WrongSwish(Swish):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.sigmoid()             # forgot the x s (1 - s) term


try:
    tg.testing.gradcheck(WrongSwish.apply, (point,))
except tg.testing.GradcheckError as error:
    print("   a wrong backward is caught:", str(error)[:110], "...")

# ----------------------------------------------------------------------------------------------------------------
print("\n3. A Hessian-vector product H v = d/dw (dL/dw . v), by differentiating a gradient")
w = tg.randn(width, dtype=tg.float64, generator=generator, requires_grad=True)
v = tg.randn(width, dtype=tg.float64, generator=generator)
data = tg.randn(10, width, dtype=tg.float64, generator=generator)


def objective(w):
    return tg.softplus(data @ w).mean() + 0.5 * (w * w).sum()


(gradient,) = tg.grad(objective(w), [w], create_graph=True)
(hessian_v,) = tg.grad((gradient * v).sum(), [w])
step = 1e-5
w_plus = (w.detach() + step * v).requires_grad_()
w_minus = (w.detach() - step * v).requires_grad_()
(g_plus,) = tg.grad(objective(w_plus), [w_plus])
(g_minus,) = tg.grad(objective(w_minus), [w_minus])
finite_difference = (g_plus - g_minus) / (2 * step)
print("   H v by autograd:          ", hessian_v.numpy().round(6)[:4], "...")
print("   H v by finite differences:", finite_difference.numpy().round(6)[:4], "...")
print("   largest difference:", f"{(hessian_v - finite_difference).abs().max().item():.2e}")

# ----------------------------------------------------------------------------------------------------------------
print("\n4. A gradient penalty: lambda * mean((||grad_x D(x)|| - 1)^2), differentiated with respect to D's weights")
critic_w = tg.randn(2, width, generator=generator, requires_grad=True)
critic_v = tg.randn(width, 1, generator=generator, requires_grad=True)
points = tg.randn(16, 2, generator=generator, requires_grad=True)
scores = (points @ critic_w).tanh() @ critic_v
(grad_points,) = tg.grad(scores.sum(), [points], create_graph=True)
grad_norm = ((grad_points * grad_points).sum(axis=1) + 1e-12).sqrt()   # epsilon inside the square root
penalty = 10.0 * ((grad_norm - 1) ** 2).mean()
penalty.backward()
print("   penalty =", round(penalty.item(), 4), " |dP/dW| =", round(critic_w.grad.norm().item(), 4))
print("\nDone. Files in", args.out)
