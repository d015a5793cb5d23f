"""Gradient checking for your own ops: ``tg.testing.gradcheck`` and ``gradgradcheck`` (also ``tg.autograd``'s).
They live in tinygan/autograd/gradcheck.py."""

from .autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]
