"""Multi-head attention, one function for the whole network.

In torch it is ``scaled_dot_product_attention`` (on the CPU a blocked kernel: the 21,314 x 21,314 score
matrix of the joint attention is never stored). In an ONNX export it becomes onnxruntime's
``com.microsoft.MultiHeadAttention``, whose CPU kernel is blocked too; the standard ONNX decomposition
(MatMul, Softmax, MatMul) would need 29 GB for the scores of one block.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

ORT_DOMAIN = "com.microsoft"


def _sdpa_merged(q: Tensor, k: Tensor, v: Tensor, heads: int) -> Tensor:
    b, d = q.shape[0], q.shape[-1]
    split = lambda t: t.reshape(b, -1, heads, d // heads).transpose(1, 2)  # noqa: E731
    return F.scaled_dot_product_attention(split(q), split(k), split(v)).transpose(1, 2).reshape(b, -1, d)


@torch.library.custom_op("lam::multi_head_attention", mutates_args=())
def _merged_attention(q: Tensor, k: Tensor, v: Tensor, heads: int) -> Tensor:
    """Heads merged: q [B, Nq, D], k and v [B, Nk, D] -> [B, Nq, D]; exported as ORT's MultiHeadAttention."""
    return _sdpa_merged(q, k, v, heads)


@_merged_attention.register_fake
def _(q, k, v, heads):
    return q.new_empty(q.shape)


def _onnx_symbolic(g, q, k, v, heads):
    from torch.onnx import symbolic_helper

    out = g.op(f"{ORT_DOMAIN}::MultiHeadAttention", q, k, v,
               num_heads_i=symbolic_helper._get_const(heads, "i", "heads"))
    out.setType(q.type())
    return out


torch.onnx.register_custom_op_symbolic("lam::multi_head_attention", _onnx_symbolic, 17)


def attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """q [B, H, Nq, d], k and v [B, H, Nk, d] -> [B, Nq, H*d] (scale 1/sqrt(d), no mask)."""
    b, h, _, d = q.shape
    if torch.onnx.is_in_onnx_export():
        merge = lambda t: t.transpose(1, 2).reshape(b, -1, h * d)  # noqa: E731
        return _merged_attention(merge(q), merge(k), merge(v), h)
    return F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, -1, h * d)
