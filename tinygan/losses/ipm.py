"""Integral probability metrics as losses: the maximum mean discrepancy (MMD), its witness function, and the
objectives of the generative moment matching network (GMMN), the MMD GAN and the energy distance.

    import tinygan as tg
    from tinygan import kernels, losses

    k = kernels.gaussian([0.5, 1.0, 2.0])
    losses.mmd2(x, y, k)                                   # the unbiased estimate of MMD^2 (may be < 0)
    losses.mmd2(x, y, k, unbiased=False)                   # the biased one (>= 0)
    w = losses.mmd_witness(x, y, k); w(t)                  # the witness function at points t (k, d) -> (k,)

    loss_G = losses.gmmn_generator_loss(G(z), real, k)     # GMMN: no discriminator
    h = critic                                             # MMD GAN: a critic network maps points to features
    loss_D = losses.mmd_critic_loss(h(real), h(fake.detach()), k) + losses.witness_penalty(h, real, fake.detach(), k)
    loss_G = losses.mmd_generator_loss(h(G(z)), h(real), k)
    loss_G = losses.energy_generator_loss(G(z), real)      # the energy distance: no discriminator

Theory. An integral probability metric is d(P, Q) = sup over f in a class F of E_P f - E_Q f; the critic is the f
that attains it. With F the 1-Lipschitz functions it is the Wasserstein-1 distance (WGAN); with F the unit ball of a
reproducing kernel Hilbert space H of a kernel k it is the maximum mean discrepancy, which has a closed form:

    MMD^2(P, Q) = E k(X, X') + E k(Y, Y') - 2 E k(X, Y),        X, X' ~ P and Y, Y' ~ Q independent,

attained by f = w / ||w||_H, the witness w(t) = E_P k(t, X) - E_Q k(t, Y), with ||w||_H = MMD (Gretton et al.
2012). No inner maximisation is needed, so a GMMN trains its generator on MMD alone (Li, Swersky and Zemel 2015;
Dziugaite, Roy and Ghahramani 2015). With a fixed kernel on raw data the signal is weak in high dimensions; the MMD
GAN (Li et al. 2017; Binkowski et al. 2018) learns features h(x) with a critic network that maximises MMD^2 between
h(real) and h(fake), kept in check by a gradient penalty on the witness. With the distance kernel
k(x, y) = |x| + |y| - |x - y| MMD^2 is the energy distance 2 E|X - Y| - E|X - X'| - E|Y - Y'|, whose sample
gradients are unbiased, unlike the Wasserstein distance's (Bellemare et al. 2017, the Cramer GAN).

Estimates from samples x (m points) and y (n points), K_ab the Gram matrix k(a_i, b_j):

    unbiased (U-statistic):  1/(m(m-1)) sum_{i != j} K_xx + 1/(n(n-1)) sum_{i != j} K_yy - 2/(mn) sum_{i,j} K_xy
    biased (V-statistic):    1/m^2 sum_{i,j} K_xx + 1/n^2 sum_{i,j} K_yy - 2/(mn) sum_{i,j} K_xy

The U-statistic's expectation is MMD^2 exactly, so for equal distributions it scatters around 0 and is often
negative; the V-statistic is the squared RKHS norm of the empirical witness, never negative, and biased upwards by
(E k(X, X) - E k(X, X'))/m + (E k(Y, Y) - E k(Y, Y'))/n. Memory is O(m n): the kernels never form an (m, n, d)
array (tinygan/kernels.py). Samples are Tensors of shape (n, d) (1-D values as (n, 1)).
"""

from .. import backend, ops
from ..kernels import check_pair, distance, sqrt_or_zero
from ..ops.arguments import constant
from .penalties import gradient_penalty


def _check_kernel(function_name, kernel):
    if not callable(kernel):
        raise TypeError(f"{function_name}: kernel must be a callable k(x, y) returning the Gram matrix, e.g. "
                        f"tg.kernels.gaussian([0.5, 1, 2]); got {type(kernel).__name__}")


def _check_block_rows(function_name, block_rows):
    if block_rows is not None and (isinstance(block_rows, bool) or not isinstance(block_rows, int) or
                                   block_rows < 1):
        raise ValueError(f"{function_name}: block_rows must be None (all rows at once) or a positive integer, got "
                         f"{block_rows!r}")


def _mean_gram(function_name, a, b, kernel, skip_diagonal, block_rows):
    """The mean of the Gram matrix k(a_i, b_j) over all pairs, or (skip_diagonal, a and b one sample) over the
    pairs i != j. Computed block_rows rows at a time (None: all at once), so that without a graph memory stays
    about block_rows * len(b) numbers; with a graph every block's matrix is kept for backward anyway."""
    n, m = a.shape[0], b.shape[0]
    rows = n if block_rows is None else block_rows
    xp = backend.array_namespace(a.array)
    total = None
    for start in range(0, n, rows):
        part = a if rows >= n else a[start:start + rows]
        block = kernel(part, b)
        if tuple(block.shape) != (part.shape[0], m):
            raise ValueError(f"{function_name}: the kernel returned shape {tuple(block.shape)} for samples of "
                             f"{part.shape[0]} and {m} points; a kernel returns the ({part.shape[0]}, {m}) Gram "
                             f"matrix")
        if skip_diagonal:
            # the terms k(a_i, a_i) of these rows sit at columns start, start + 1, ...
            off_diagonal = xp.arange(start, start + part.shape[0])[:, None] != xp.arange(m)[None, :]
            block = ops.where(constant(block, off_diagonal), block, 0.0)
        block_sum = block.sum()
        total = block_sum if total is None else total + block_sum
    pairs = n * (n - 1) if skip_diagonal else n * m
    return total / pairs


def mmd2(x, y, kernel, unbiased=True, block_rows=None):
    """The squared maximum mean discrepancy between the samples x (m, d) and y (n, d) under ``kernel``.

        unbiased=True:   1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(n(n-1)) sum_{i != j} k(y_i, y_j)
                         - 2/(mn) sum_{i,j} k(x_i, y_j)          (the U-statistic: unbiased, may be negative)
        unbiased=False:  the same with 1/m^2 and 1/n^2 sums over all pairs (the V-statistic: >= 0, biased up)

    kernel: a callable k(a, b) -> Gram matrix, such as tg.kernels.gaussian([1.0]). Returns a 0-d tensor,
    differentiable with respect to x and y (to any order the kernel is). block_rows: compute the Gram matrices that
    many rows at a time (None: at once); the same value, for bounded memory when no gradient is needed (the metrics
    use it). The unbiased estimate needs at least 2 points in each sample.
    """
    name = "mmd2"
    check_pair(name, x, y)
    _check_kernel(name, kernel)
    _check_block_rows(name, block_rows)
    m, n = x.shape[0], y.shape[0]
    if unbiased and (m < 2 or n < 2):
        raise ValueError(f"{name}: the unbiased estimate needs at least 2 points in each sample, got {m} and {n}; "
                         f"pass more points or unbiased=False")
    mean_xx = _mean_gram(name, x, x, kernel, unbiased, block_rows)
    mean_yy = _mean_gram(name, y, y, kernel, unbiased, block_rows)
    mean_xy = _mean_gram(name, x, y, kernel, False, block_rows)
    return mean_xx + mean_yy - 2.0 * mean_xy


def mmd(x, y, kernel, unbiased=False):
    """The maximum mean discrepancy itself, sqrt(max(MMD^2, 0)), a 0-d tensor.

    Default: the square root of the biased (V-statistic) estimate, which is the RKHS norm of the empirical witness.
    Where the estimate is 0 or negative (the unbiased one can be) the result is 0 with gradient 0, so no NaN or
    infinity from the square root's derivative at 0 reaches a gradient.
    """
    squared = mmd2(x, y, kernel, unbiased=unbiased)
    return sqrt_or_zero(squared, squared.array <= 0)


def mmd_witness(x, y, kernel):
    """The witness function of the samples x (m, d) and y (n, d): a function of points t (k, d) returning

        w(t) = 1/m sum_i k(t, x_i) - 1/n sum_j k(t, y_j),          shape (k,)

    the empirical mean embedding of x minus that of y. It is large where x is denser than y (under the kernel's
    smoothing) and negative where y is denser; w / ||w||_H attains the MMD: 1/m sum_i w(x_i) - 1/n sum_j w(y_j) =
    ||w||_H^2 = MMD^2 (biased). Differentiable with respect to t, x and y.
    """
    name = "mmd_witness"
    check_pair(name, x, y)
    _check_kernel(name, kernel)

    def witness(t):
        check_pair("mmd_witness: the witness", t, x, "t", "x")
        return kernel(t, x).mean(axis=1) - kernel(t, y).mean(axis=1)

    return witness


# ---------------------------------------------------------------------------------------------------------------
# the objectives, as the players' losses (each a 0-d tensor to minimise)
# ---------------------------------------------------------------------------------------------------------------


def gmmn_generator_loss(fake, real, kernel):
    """The generative moment matching network's loss: MMD(fake, real) = sqrt(MMD^2_biased), minimised by G alone.

    fake (m, d) = G(z), real (n, d) a data batch, kernel fixed (a sum of Gaussian kernels over several
    bandwidths is usual). The square root, not MMD^2: near a match MMD^2 falls like the square of the mismatch and
    its gradient with it, while MMD's gradient stays of the same size; sqrt_or_zero keeps its derivative finite at 0.
    """
    return mmd(fake, real, kernel, unbiased=False)


def mmd_generator_loss(fake_features, real_features, kernel):
    """The MMD GAN generator's loss: the unbiased MMD^2 between the critic's features of fake and real samples,
    h(G(z)) (m, f) and h(x) (n, f). Unbiased as in Binkowski et al. (2018), so its gradient is unbiased too."""
    return mmd2(fake_features, real_features, kernel, unbiased=True)


def mmd_critic_loss(real_features, fake_features, kernel):
    """The MMD GAN critic's loss: -MMD^2_unbiased(h(x), h(G(z))); minimising it makes the features h tell real
    from fake. Add ``witness_penalty`` to keep the critic from growing its features without bound."""
    return -mmd2(real_features, fake_features, kernel, unbiased=True)


def witness_penalty(critic, real, fake, kernel, *, weight=10.0, generator=None, t=None):
    """The MMD GAN's gradient penalty (Binkowski et al. 2018): WGAN-GP's penalty on the witness function

        f(x) = 1/n sum_i k(h(x), h(real_i)) - 1/m sum_j k(h(x), h(fake_j))        (h = critic, the features)
        penalty = weight * mean_i (||grad f(x_hat_i)|| - 1)^2,   x_hat = t real + (1 - t) fake, t ~ U(0, 1)

    critic: a callable from points (batch, d) to features (batch, f); real and fake: (batch, d) of one shape
    (pass fake detached for the critic's step). This is ``gradient_penalty`` applied to x -> f(x), so the norm
    has its eps and t is drawn from ``generator`` in the same way, or given (``t``, shape (batch, 1), as a compiled
    training step passes it). Returns a 0-d tensor differentiable with respect
    to the critic's parameters (backward through it is a double backward).
    """
    witness = mmd_witness(critic(real), critic(fake), kernel)
    return gradient_penalty(lambda points: witness(critic(points)), real, fake, weight=weight, generator=generator,
                            t=t)


def energy_generator_loss(fake, real):
    """The energy distance between fake (m, d) and real (n, d), unbiased: MMD^2_unbiased with the distance kernel,

        2/(mn) sum_{i,j} |fake_i - real_j| - 1/(m(m-1)) sum_{i != j} |fake_i - fake_j|
                                            - 1/(n(n-1)) sum_{i != j} |real_i - real_j|

    minimised by G alone (no discriminator). Its gradient from a batch is an unbiased estimate of the energy
    distance's gradient (Bellemare et al. 2017), which the Wasserstein distance's sample gradients are not.
    """
    return mmd2(fake, real, distance(), unbiased=True)
