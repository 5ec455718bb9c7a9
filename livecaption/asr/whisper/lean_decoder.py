"""Whisper's decoder step without transformers' per-call machinery.

Same modules, same weights (fp32, reduced precision or int8-quantized Linear layers alike); what
is gone is the per-step overhead that dominated decoding on the CPU (docs/benchmarks.md §4):
cache objects that grow by concatenation, causal-mask construction, generic attention dispatch.

- Self-attention keys/values live in buffers written in place (grown by doubling, reordered for
  beam search into a second set that then swaps with the first).
- Cross-attention keys/values are projected from the encoder states once per window (a memo
  serves the decode, its word alignment and its fallbacks). When every row decodes the same
  window (beam search), they are projected for one row only and the rows' queries are stacked
  against them: no copy per beam, and nothing to reorder between steps.
- The three self-attention projections are one fused Linear; cross-attention is two plain
  matmuls over keys stored transposed and pre-scaled.

tests/asr/test_lean_decoder.py holds it to transformers' own decoder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

MAX_TEXT_POSITIONS = 448  # Whisper's text context


def fuse_self_attention_projections(model) -> None:
    """Give every decoder self-attention one ``qkv_proj`` Linear (d -> 3d) in place of three calls a
    step. Call before quantizing (the fused layer is quantized like the others); in float the
    separate layers become views of the fused weight, so nothing is stored twice."""
    for layer in model.model.decoder.layers:
        attention = layer.self_attn
        q, k, v = attention.q_proj, attention.k_proj, attention.v_proj
        d = q.in_features
        fused = torch.nn.Linear(d, 3 * d, bias=True, dtype=q.weight.dtype, device=q.weight.device)
        with torch.no_grad():
            fused.weight.copy_(torch.cat([q.weight, k.weight, v.weight]))
            zeros = torch.zeros(d, dtype=q.weight.dtype, device=q.weight.device)  # k_proj has no bias
            fused.bias.copy_(torch.cat([q.bias if q.bias is not None else zeros, zeros,
                                        v.bias if v.bias is not None else zeros]))
        attention.qkv_proj = fused
    tie_fused_projections(model)


def tie_fused_projections(model) -> None:
    """Make q/k/v views of the fused weight again. Moving a model (``.to``) copies every parameter
    on its own, views included: without this a model moved to the GPU would hold q/k/v twice."""
    for layer in model.model.decoder.layers:
        attention = layer.self_attn
        fused = getattr(attention, "qkv_proj", None)
        if not isinstance(fused, torch.nn.Linear):  # int8: quantized modules own packed copies
            continue
        d = fused.in_features
        for index, part in enumerate((attention.q_proj, attention.k_proj, attention.v_proj)):
            part.weight = torch.nn.Parameter(fused.weight[index * d : (index + 1) * d], requires_grad=False)


class CrossAttentionMemo:
    """The encoder keys/values of the window decoded last.

    One window is decoded several times: the decode, its word-alignment pass, temperature
    fallbacks. Projecting its keys and values once costs ~15 ms for tiny.en int8 on 2 CPU cores
    (more for larger models), so the projections of the last window are kept. The entry holds a
    reference to the states it was computed from, so their memory cannot be reused by another
    tensor while it lives: same data pointer, shape and strides means the same states (nothing
    writes encoder states in place). Weights are assumed fixed for a model object's lifetime.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._held: tuple | None = None  # (model, states): kept alive while the entry is valid
        self._value: tuple[list[torch.Tensor], list[torch.Tensor]] | None = None

    def projections(self, model, states: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        # A stride along a size-1 dimension means nothing (an expanded row has 0 there, the row itself not).
        layout = tuple(stride if size > 1 else 0 for size, stride in zip(states.shape, states.stride()))
        key = (id(model), states.data_ptr(), tuple(states.shape), layout, states.dtype, states.device)
        if key != self._key:
            self._key, self._held, self._value = None, None, None  # free the old window first
            self._value = _project(model, states)
            self._key, self._held = key, (model, states)
        return self._value

    def clear(self) -> None:
        self._key, self._held, self._value = None, None, None


@torch.no_grad()
def _project(model, states: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    keys_t, values = [], []
    for layer in model.model.decoder.layers:
        attention = layer.encoder_attn
        heads = attention.num_heads
        keys_t.append(_heads(attention.k_proj(states), heads).transpose(-1, -2).contiguous() * attention.scaling)
        values.append(_heads(attention.v_proj(states), heads))
    return keys_t, values


class SelfAttentionBuffers:
    """Keys and values of the tokens decoded so far, for every layer, written in place.

    Capacity grows by doubling (a decode rarely needs Whisper's whole 448-token context, and
    large models with five beams would hold hundreds of MB for it). Beam search reorders rows
    every step: the reordered rows go into a second set of buffers, and the two sets swap, so a
    step allocates nothing.
    """

    def __init__(self, layers: int, rows: int, heads: int, head_dim: int, dtype, device) -> None:
        self.rows, self.capacity = rows, 0
        self._shape = (heads, head_dim)
        self._dtype, self._device = dtype, device
        self._live: list[torch.Tensor] = []  # per layer, keys then values: (rows, heads, capacity, d_head)
        self._spare: list[torch.Tensor] = []
        self._layers = layers

    def _new(self, capacity: int) -> list[torch.Tensor]:
        shape = (self.rows, self._shape[0], capacity, self._shape[1])
        return [torch.empty(shape, dtype=self._dtype, device=self._device) for _ in range(2 * self._layers)]

    def reserve(self, length: int, used: int) -> None:
        if length <= self.capacity:
            return
        capacity = min(MAX_TEXT_POSITIONS, max(64, 2 * length))
        grown = self._new(capacity)
        for old, new in zip(self._live, grown):
            new[:, :, :used] = old[: self.rows, :, :used]
        self._live, self._spare, self.capacity = grown, [], capacity

    def keys(self, layer: int) -> torch.Tensor:
        return self._live[2 * layer][: self.rows]

    def values(self, layer: int) -> torch.Tensor:
        return self._live[2 * layer + 1][: self.rows]

    def reorder(self, rows: torch.Tensor, used: int) -> None:
        if not self._spare:
            self._spare = self._new(self.capacity)
        count = len(rows)
        for live, spare in zip(self._live, self._spare):
            torch.index_select(live[: self.rows, :, :used], 0, rows, out=spare[:count, :, :used])
        self._live, self._spare, self.rows = self._spare, self._live, count


class LeanDecoderCache:
    """Key/value state of one decode: self-attention buffers and cross-attention projections."""

    def __init__(self) -> None:
        self.length = 0  # tokens already in the self-attention buffers
        self.buffers: SelfAttentionBuffers | None = None
        # Encoder keys transposed and pre-scaled for q @ k^T: (rows, heads, d_head, frames); values
        # (rows, heads, frames, d_head).
        self.cross_keys_t: list[torch.Tensor] = []
        self.cross_values: list[torch.Tensor] = []
        self.shared_encoder = False  # one cross-attention row serves every decoding row

    @property
    def started(self) -> bool:
        return self.buffers is not None

    def reorder_cache(self, rows: torch.Tensor) -> None:
        """Beam search: row i continues what row ``rows[i]`` held (the number of rows may shrink)."""
        with torch.inference_mode():  # the buffers may be inference tensors, writable only in this mode
            self._reorder(rows)

    def _reorder(self, rows: torch.Tensor) -> None:
        self.buffers.reorder(rows, self.length)
        if not self.shared_encoder:
            self.cross_keys_t = [k.index_select(0, rows) for k in self.cross_keys_t]
            self.cross_values = [v.index_select(0, rows) for v in self.cross_values]


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(batch, len, d) -> (batch, heads, len, d / heads)"""
    batch, length, _ = x.shape
    return x.view(batch, length, heads, -1).transpose(1, 2)


def _merge(x: torch.Tensor) -> torch.Tensor:
    """(batch, heads, len, d_head) -> (batch, len, d)"""
    batch, heads, length, head_dim = x.shape
    return x.transpose(1, 2).reshape(batch, length, heads * head_dim)


def _is_one_row_expanded(states: torch.Tensor) -> bool:
    return states.shape[0] > 1 and states.stride(0) == 0


class LeanDecoder:
    """Runs ``WhisperDecoder`` + ``proj_out`` of a loaded transformers model, step by step."""

    def __init__(self, model, memo: CrossAttentionMemo | None = None) -> None:
        self.model = model
        self.memo = memo

    @torch.inference_mode()  # the buffers it writes are inference tensors
    def logits(self, tokens: torch.Tensor, encoder_states: torch.Tensor, cache: LeanDecoderCache,
               cross_queries: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        """Logits (batch, len, vocab) for ``tokens`` continuing what ``cache`` holds.

        ``cross_queries``, when given, receives each layer's cross-attention queries (batch, heads,
        len, d_head): with ``cache.cross_keys_t`` they give the attention scores word timing needs.
        """
        decoder = self.model.model.decoder
        batch, length = tokens.shape
        start = cache.length
        if start + length > MAX_TEXT_POSITIONS:
            raise ValueError(f"Whisper's text context holds {MAX_TEXT_POSITIONS} tokens")
        hidden = decoder.embed_tokens(tokens) + decoder.embed_positions.weight[start : start + length]
        if not cache.started:
            self._start(cache, encoder_states, batch, hidden.dtype)
        cache.buffers.reserve(start + length, start)
        for index, layer in enumerate(decoder.layers):
            hidden = hidden + self._self_attention(layer, index, layer.self_attn_layer_norm(hidden), cache, start)
            hidden = hidden + self._cross_attention(layer, index, layer.encoder_attn_layer_norm(hidden), cache, cross_queries)
            hidden = hidden + layer.fc2(layer.activation_fn(layer.fc1(layer.final_layer_norm(hidden))))
        cache.length = start + length
        return self.model.proj_out(decoder.layer_norm(hidden))

    def _start(self, cache: LeanDecoderCache, encoder_states: torch.Tensor, batch: int, dtype) -> None:
        decoder = self.model.model.decoder
        cache.shared_encoder = _is_one_row_expanded(encoder_states)
        states = encoder_states[:1] if cache.shared_encoder else encoder_states
        if self.memo is not None:
            keys_t, values = self.memo.projections(self.model, states)
        else:
            keys_t, values = _project(self.model, states)
        cache.cross_keys_t, cache.cross_values = list(keys_t), list(values)
        attention = decoder.layers[0].self_attn
        cache.buffers = SelfAttentionBuffers(len(decoder.layers), batch, attention.num_heads, attention.head_dim,
                                             dtype, states.device)

    @staticmethod
    def _self_attention(layer, index: int, x: torch.Tensor, cache: LeanDecoderCache, start: int) -> torch.Tensor:
        attention = layer.self_attn
        heads = attention.num_heads
        length = x.shape[1]
        end = start + length
        query, key, value = attention.qkv_proj(x).chunk(3, dim=-1)
        query = _heads(query, heads)
        keys, values = cache.buffers.keys(index), cache.buffers.values(index)
        keys[:, :, start:end] = _heads(key, heads)
        values[:, :, start:end] = _heads(value, heads)
        mask = None
        if length > 1:  # several new tokens: each sees the cache and the new ones up to itself
            mask = torch.ones(length, end, dtype=torch.bool, device=x.device).tril(start)
        out = F.scaled_dot_product_attention(query, keys[:, :, :end], values[:, :, :end], attn_mask=mask,
                                             scale=attention.scaling)
        return attention.out_proj(_merge(out))

    @staticmethod
    def _cross_attention(layer, index: int, x: torch.Tensor, cache: LeanDecoderCache,
                         cross_queries: dict[int, torch.Tensor] | None) -> torch.Tensor:
        # Reading the encoder's keys and values is most of a decoder step's memory traffic (4.6 MB
        # a layer for tiny). Plain matmuls over keys stored transposed and pre-scaled read them
        # once, in order; measured 0.4 ms a step faster than scaled_dot_product_attention here.
        attention = layer.encoder_attn
        heads = attention.num_heads
        batch, length, _ = x.shape
        projected = attention.q_proj(x)
        if cross_queries is not None:
            cross_queries[index] = _heads(projected, heads)
        if cache.shared_encoder:
            # Every row attends to the same encoder states: stack the rows' queries as positions of one
            # row (cross-attention has no mask, so this is exact) instead of copying keys per row.
            projected = projected.reshape(1, batch * length, -1)
        weights = torch.softmax(torch.matmul(_heads(projected, heads), cache.cross_keys_t[index]), dim=-1)
        out = _merge(torch.matmul(weights, cache.cross_values[index]))
        return attention.out_proj(out.reshape(batch, length, -1))
