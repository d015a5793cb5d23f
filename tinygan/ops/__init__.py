"""The differentiable ops, each a Function with its forward and backward side by side, and the functions users call.

    basic.py        the elementary ops an MLP and its GAN losses need (+ - * / neg @ exp log tanh sigmoid softplus
                    relu sum mean): start here
    elementwise.py  pow log1p sqrt abs sin cos logsigmoid leaky_relu elu clamp maximum minimum where
    reductions.py   max min norm var std logsumexp, and argmax argmin any all (no gradient)
    shapes.py       reshape transpose broadcast_to sum_to (the engine's unbroadcast) expand permute swapaxes squeeze
                    unsqueeze flatten repeat split chunk t mm, indexing (getitem, setitem), concatenate, stack
    conversions.py  clone, cast (dtypes), to_device
    comparisons.py  less ... equal, logical_and/or/not, isfinite, isnan, sign (no gradient)
    arguments.py    what the functions do with their arguments first: checks, numbers as tensors, dtype rules
"""

from .basic import (Add, Div, Exp, Log, MatMul, Mean, Mul, Neg, ReLU, Sigmoid, Softplus, Sub, Sum, Tanh, add, div, exp,
                    log, matmul, mean, mul, neg, relu, sigmoid, softplus, sub, sum, tanh)
from .comparisons import (equal, greater, greater_equal, isfinite, isnan, less, less_equal, logical_and, logical_not,
                          logical_or, not_equal, sign)
from .arguments import normalize_axis
from .conversions import Cast, Clone, ToDevice, cast, clone, to_device
from .elementwise import (Abs, Clamp, Cos, LeakyReLU, Log1p, LogSigmoid, Maximum, Minimum, Pow, Sin, Sqrt, Where, abs,
                          clamp, clip, cos, elu, leaky_relu, log1p, logsigmoid, maximum, minimum, pow, sin, sqrt, where)
from .reductions import Max, MaxMin, Min, Norm, all, any, argmax, argmin, logsumexp, max, min, norm, std, var
from .shapes import (BroadcastTo, Concatenate, GetItem, IndexAdd, Reshape, SetItem, Stack, SumTo, Transpose,
                     broadcast_to, cat, chunk, concatenate, expand, flatten, getitem, index_key, mm, permute, repeat,
                     reshape, setitem, split, squeeze, stack, sum_to, swapaxes, t, transpose, unsqueeze)
