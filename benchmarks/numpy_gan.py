"""One GAN training step in plain NumPy, every derivative written out by hand.

This is the floor for any autograd engine built on NumPy: the same array work as tinygan does for one step of
the ring benchmark (benchmarks/ring8.py), with no graph, no Tensor objects and no bookkeeping. It is also an
independent reference for the gradients: nothing here shares code with tinygan.

The step (non-saturating GAN, Goodfellow et al. 2014, both players descending a loss on logits):

    discriminator:  fake = G(z_d) without a graph into G
                    L_D = mean(softplus(-D(real))) + mean(softplus(D(fake)))       (binary cross-entropy)
                    D <- Adam(D, dL_D/dD)
    generator:      L_G = mean(softplus(-D(G(z_g))))                                 (-log D(G(z)))
                    G <- Adam(G, dL_G/dG)       (D is only differentiated through, its parameters stay)

Both networks are ReLU MLPs; a layer stores W as (out, in) and b as (out,), PyTorch's layout, so parameters
can be copied one to one between the three implementations of the benchmark. Everything is float32: NumPy keeps
float32 when a float32 array meets a Python float.
"""

import math

import numpy


# ---------------------------------------------------------------------------------------------------------------
# the MLP: forward keeps what backward needs
# ---------------------------------------------------------------------------------------------------------------


def mlp_forward(params, x):
    """Forward pass of an MLP given as a list of (W, b); returns (output, inputs).

        a_i = h_i W_i^T + b_i,   h_{i+1} = relu(a_i) for every layer but the last,   output = a_last

    ``inputs[i]`` is h_i, the input of layer i: backward needs it for dW_i, and for the hidden layers it is also
    the ReLU mask (h_i > 0 exactly where a_{i-1} > 0).
    """
    inputs = []
    h = x
    last = len(params) - 1
    for index, (weight, bias) in enumerate(params):
        inputs.append(h)
        h = h @ weight.T
        h += bias                           # h is a fresh array: add the bias in place
        if index < last:
            numpy.maximum(h, 0, out=h)      # relu in place
    return h, inputs


def mlp_backward(params, inputs, grad_out, param_grads=True, input_grad=False):
    """Backward pass of ``mlp_forward``: from g = dL/d(output), returns (parameter gradients, dL/dx).

    Layer by layer from the last, with g = dL/da_i of shape (batch, out_i):

        dL/dW_i = g^T h_i          (out_i, in_i)
        dL/db_i = sum_batch g      (out_i,)
        dL/dh_i = g W_i            (batch, in_i)
        dL/da_{i-1} = dL/dh_i * [h_i > 0]      (relu: the gradient passes where the unit was active)

    param_grads=False skips dW and db (the generator step only differentiates *through* D); input_grad=True
    also returns dL/dx (how the generator step reaches G through D). Either result is None when not asked for.
    """
    grads = [None] * len(params)
    g = grad_out
    for index in range(len(params) - 1, -1, -1):
        weight, _ = params[index]
        h_in = inputs[index]
        if param_grads:
            grads[index] = (g.T @ h_in, g.sum(axis=0))
        if index > 0 or input_grad:
            g = g @ weight
            if index > 0:
                g *= h_in > 0               # a bool mask multiplies as 0/1
    return (grads if param_grads else None), (g if input_grad else None)


# ---------------------------------------------------------------------------------------------------------------
# the losses on logits, stable for any logit
# ---------------------------------------------------------------------------------------------------------------


def softplus(x):
    """log(1 + e^x), as logaddexp(0, x): never overflows (it is x + log(1 + e^-x) for large x)."""
    return numpy.logaddexp(0.0, x)


def sigmoid(x):
    """1 / (1 + e^-x) = exp(-softplus(-x)): finite for any x (no e^-x overflow for very negative x)."""
    return numpy.exp(-softplus(-x))


def discriminator_loss(real_logits, fake_logits):
    """L_D = mean(softplus(-r)) + mean(softplus(f)), and its gradients with respect to the logits:

        dL_D/dr = -sigmoid(-r) / n_real,   dL_D/df = sigmoid(f) / n_fake

    (d softplus(x)/dx = sigmoid(x)). Returns (loss as a float32 scalar, dL/dr, dL/df).
    """
    n_real, n_fake = real_logits.shape[0], fake_logits.shape[0]
    loss = softplus(-real_logits).sum() / n_real + softplus(fake_logits).sum() / n_fake
    return loss, sigmoid(-real_logits) * (-1.0 / n_real), sigmoid(fake_logits) * (1.0 / n_fake)


def generator_loss(fake_logits):
    """The non-saturating L_G = mean(softplus(-f)) = -mean(log D(G(z))), and dL_G/df = -sigmoid(-f) / n."""
    n = fake_logits.shape[0]
    return softplus(-fake_logits).sum() / n, sigmoid(-fake_logits) * (-1.0 / n)


# ---------------------------------------------------------------------------------------------------------------
# Adam, as torch.optim.Adam computes it
# ---------------------------------------------------------------------------------------------------------------


class Adam:
    """Adam (Kingma and Ba, 2015) on a list of arrays, updated in place, in PyTorch's order of operations:

        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        theta_t = theta_{t-1} - (lr / (1 - beta1^t)) m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

    The bias corrections are Python floats (no array work); the rest is one in-place NumPy call per operation.
    """

    def __init__(self, arrays, lr, betas=(0.9, 0.999), eps=1e-8):
        self.arrays = arrays
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.exp_avg = [numpy.zeros_like(array) for array in arrays]
        self.exp_avg_sq = [numpy.zeros_like(array) for array in arrays]
        self.t = 0

    def step(self, grads):
        """One update of every array with its gradient (``grads`` in the same order as the arrays)."""
        self.t += 1
        beta1, beta2 = self.beta1, self.beta2
        step_size = self.lr / (1 - beta1 ** self.t)
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** self.t)
        for param, grad, m, v in zip(self.arrays, grads, self.exp_avg, self.exp_avg_sq):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            denominator = numpy.sqrt(v)
            denominator /= bias_correction2_sqrt
            denominator += self.eps
            param -= step_size * (m / denominator)


# ---------------------------------------------------------------------------------------------------------------
# the GAN step
# ---------------------------------------------------------------------------------------------------------------


def _flat(layer_pairs):
    """[(W0, b0), (W1, b1), ...] -> [W0, b0, W1, b1, ...]."""
    return [array for pair in layer_pairs for array in pair]


class NumpyGAN:
    """A generator and a discriminator MLP with their Adam optimizers, trained one step at a time.

    g_params, d_params: lists of (W (out, in), b (out,)) float32 arrays (copied). After ``step``:
    ``loss_d`` and ``loss_g`` are the two losses, ``d_grads`` and ``g_grads`` the gradients used for the two
    updates, flat lists [dW0, db0, dW1, ...] in the order of the parameters.
    """

    def __init__(self, g_params, d_params, lr=1e-4, betas=(0.5, 0.999), eps=1e-8):
        self.G = [(weight.copy(), bias.copy()) for weight, bias in g_params]
        self.D = [(weight.copy(), bias.copy()) for weight, bias in d_params]
        self.opt_G = Adam(_flat(self.G), lr, betas, eps)
        self.opt_D = Adam(_flat(self.D), lr, betas, eps)
        self.loss_d = self.loss_g = None
        self.d_grads = self.g_grads = None

    def step(self, real, z_d, z_g):
        """One discriminator update on (real, G(z_d)), then one generator update on z_g."""
        # discriminator: the fake batch is only a forward pass of G (nothing of it is kept)
        fake, _ = mlp_forward(self.G, z_d)
        real_logits, real_inputs = mlp_forward(self.D, real)
        fake_logits, fake_inputs = mlp_forward(self.D, fake)
        self.loss_d, grad_real, grad_fake = discriminator_loss(real_logits, fake_logits)
        # D's parameters are used twice (real and fake batch): their gradient is the sum of both paths
        from_real, _ = mlp_backward(self.D, real_inputs, grad_real)
        from_fake, _ = mlp_backward(self.D, fake_inputs, grad_fake)
        self.d_grads = [a + b for a, b in zip(_flat(from_real), _flat(from_fake))]
        self.opt_D.step(self.d_grads)

        # generator: through the updated D to G's output, then through G to its parameters
        fake, g_inputs = mlp_forward(self.G, z_g)
        fake_logits, fake_inputs = mlp_forward(self.D, fake)
        self.loss_g, grad_fake = generator_loss(fake_logits)
        _, grad_samples = mlp_backward(self.D, fake_inputs, grad_fake, param_grads=False, input_grad=True)
        g_grads, _ = mlp_backward(self.G, g_inputs, grad_samples)
        self.g_grads = _flat(g_grads)
        self.opt_G.step(self.g_grads)

    def parameters(self):
        """The current parameters: (G as a flat list, D as a flat list), the arrays themselves."""
        return _flat(self.G), _flat(self.D)
