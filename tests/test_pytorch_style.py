"""PyTorch-style code runs on tinygan: a toy WGAN-GP written only in PyTorch's idioms, with tg in place of torch.

`toy_gan` below is what a student would copy from a tutorial (the WGAN-GP toy script, the DCGAN tutorial's
weights_init, a hand-written SGD step). It takes the library as its argument, so the very same lines run on
tinygan and, where PyTorch is installed, on torch; from the same initial weights and the same data the two give
the same losses to float32 rounding.
"""

import numpy as np
import pytest

import tinygan as tg


def toy_gan(torch, steps, folder):
    """A few steps of a toy WGAN-GP; returns [(critic loss, penalty, generator loss, critic lr)] and the largest
    difference between the generator and its copy loaded from a saved state_dict."""
    nn = torch.nn
    F = torch.nn.functional
    autograd = torch.autograd
    optim = torch.optim

    class Generator(nn.Module):
        def __init__(self, nz=2, hidden=16):
            super().__init__()
            self.main = nn.Sequential(nn.Linear(nz, hidden), nn.ReLU(True), nn.Linear(hidden, hidden),
                                      nn.ReLU(inplace=True), nn.Linear(hidden, 2))

        def forward(self, z):
            return self.main(z)

    class Critic(nn.Module):
        def __init__(self, hidden=16):
            super().__init__()
            self.main = nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(0.2, inplace=True), nn.Linear(hidden, 1))

        def forward(self, x):
            return self.main(x).view(-1)

    def weights_init(m):
        if isinstance(m, nn.Linear):
            m.weight.data.normal_(0.0, 0.02)
            m.bias.data.fill_(0)

    G, D = Generator(), Critic()
    G.apply(weights_init)
    D.apply(weights_init)
    # the two libraries draw different random numbers: load the same weights into both, and feed the same data
    rng = np.random.default_rng(0)
    for net in (G, D):
        net.load_state_dict({name: torch.from_numpy(rng.normal(0, 0.5, tuple(value.size())).astype(np.float32))
                             for name, value in net.state_dict().items()})
    # eps=1e-4: Adam's first step moves every weight by about lr * sign(gradient), so with eps=1e-8 a gradient that
    # is 0 in one library and 1e-8 (rounding) in the other moves a weight by 0 in one and lr in the other
    opt_d = optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.9), eps=1e-4)
    scheduler = optim.lr_scheduler.StepLR(opt_d, step_size=2, gamma=0.5)
    criterion = nn.BCEWithLogitsLoss()
    batch, lr_g = 8, 0.05
    history = []
    for _ in range(steps):
        real = torch.from_numpy(rng.normal(size=(batch, 2)).astype(np.float32))
        noise = torch.from_numpy(rng.normal(size=(batch, 2)).astype(np.float32))
        alpha = torch.from_numpy(rng.uniform(size=(batch, 1)).astype(np.float32))

        # the critic: Wasserstein loss with the gradient penalty
        for p in D.parameters():
            p.requires_grad = True
        opt_d.zero_grad()
        fake = G(noise).detach()
        interpolates = alpha * real + (1 - alpha) * fake
        interpolates.requires_grad_(True)
        d_interpolates = D(interpolates)
        gradients = autograd.grad(outputs=d_interpolates, inputs=interpolates,
                                  grad_outputs=torch.ones(d_interpolates.size()),
                                  create_graph=True, retain_graph=True, only_inputs=True)[0]
        penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean()
        d_loss = D(fake).mean() - D(real).mean() + 10 * penalty
        d_loss.backward()
        opt_d.step()
        scheduler.step()

        # the generator: non-saturating loss, and a hand-written SGD step
        D.requires_grad_(False)
        G.zero_grad()
        logits = D(G(noise))
        g_loss = criterion(logits, torch.ones(logits.size(0))) + 0.0 * F.relu(logits).sum()
        g_loss.backward()
        with torch.no_grad():
            for p in G.parameters():
                p -= lr_g * p.grad
        D.requires_grad_(True)
        history.append((d_loss.item(), penalty.item(), g_loss.item(), scheduler.get_last_lr()[0]))

    path = str(folder / "generator.pt")
    torch.save(G.state_dict(), path)
    copy = Generator()
    copy.load_state_dict(torch.load(path))
    noise = torch.from_numpy(rng.normal(size=(5, 2)).astype(np.float32))
    with torch.no_grad():
        difference = (copy(noise) - G(noise)).abs().max().item()
    return history, difference


def test_pytorch_style_toy_gan_runs_on_tinygan(tmp_path):
    history, difference = toy_gan(tg, steps=4, folder=tmp_path)
    losses = np.array(history)
    assert np.isfinite(losses).all()
    assert losses[:, 1].min() > 0                      # the penalty is a real, non-zero term
    assert [row[3] for row in history] == [1e-2, 5e-3, 5e-3, 2.5e-3]   # StepLR(step_size=2, gamma=0.5)
    assert difference == 0.0                           # the state_dict round trip is exact


def test_hand_written_sgd_step_changes_the_parameters():
    """The first exercise of every autodiff course: `p -= lr * p.grad` under no_grad updates p itself."""
    model = tg.nn.Sequential(tg.nn.Linear(3, 4), tg.nn.ReLU(True), tg.nn.Linear(4, 1))
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    identities = {name: id(p) for name, p in model.named_parameters()}
    model(tg.randn(5, 3)).sum().backward()
    with tg.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    for name, p in model.named_parameters():
        assert id(p) == identities[name] and isinstance(p, tg.nn.Parameter)
        np.testing.assert_allclose(p.array, (before[name] - 0.1 * p.grad).array, rtol=1e-6)
    assert len(list(model.parameters())) == 4


def test_pytorch_style_toy_gan_matches_torch(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install '.[bench]'): the same "
                                                "code on torch is the reference, and optional")
    (tmp_path / "tg").mkdir()
    (tmp_path / "torch").mkdir()
    ours, _ = toy_gan(tg, steps=6, folder=tmp_path / "tg")
    theirs, _ = toy_gan(torch, steps=6, folder=tmp_path / "torch")
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=2e-5, atol=1e-6)
