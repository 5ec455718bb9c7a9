"""The lean decoder step computes what transformers' WhisperDecoder computes, on real speech.

transformers' own decoder (with its own cache) is the reference: same weights, same tokens,
logits equal to float32 rounding, through cache growth, beam reordering (rows shrinking too),
batches of different windows, and the cross-attention queries word timing reads.
"""

from __future__ import annotations

import pytest
import torch
from transformers.cache_utils import DynamicCache, EncoderDecoderCache

from conftest import clip_path
from livecaption.asr.whisper.lean_decoder import CrossAttentionMemo, LeanDecoder, LeanDecoderCache
from livecaption.audio.decode import decode_audio

TOLERANCE = 2e-3  # float32 logits of magnitude ~10-30, summed in a different order


@pytest.fixture(scope="module")
def runtime(tiny_fp32):
    return tiny_fp32.runtime


@pytest.fixture(scope="module")
def states(runtime):
    audio = decode_audio(clip_path("jfk.flac"))
    return runtime.encode(runtime.log_mel(audio)[:, :3000])


def reference_logits(reference, tokens, encoder_states, cache):
    """transformers' decoder (``reference``, tiny.en: the same weights as the runtime's network)."""
    with torch.no_grad():
        out = reference.model.decoder(input_ids=tokens, encoder_hidden_states=encoder_states,
                                      past_key_values=cache, use_cache=True)
        return reference.proj_out(out.last_hidden_state)


def new_reference_cache():
    return EncoderDecoderCache(DynamicCache(), DynamicCache())


def test_greedy_steps_past_the_first_buffer_growth_match_transformers(runtime, states, tiny_reference):
    lean, cache, reference = LeanDecoder(runtime.model), LeanDecoderCache(), new_reference_cache()
    tok = runtime.tokens
    prefix = torch.tensor([[tok.sot] + runtime.encode_text(" And so my fellow Americans")])
    with torch.no_grad():
        got = lean.logits(prefix, states, cache)
    assert (got - reference_logits(tiny_reference, prefix, states, reference)).abs().max() < TOLERANCE
    for _ in range(80):  # beyond the first 64-token capacity, so the buffers grow mid-decode
        step = got[:, -1:].argmax(-1)
        with torch.no_grad():
            got = lean.logits(step, states, cache)
        expected = reference_logits(tiny_reference, step, states, reference)
        assert (got - expected).abs().max() < TOLERANCE
    assert cache.length == prefix.shape[1] + 80 and cache.buffers.capacity >= cache.length


def test_beam_rows_reordered_and_shrinking_match_transformers(runtime, states, tiny_reference):
    beams = 5
    lean, cache, reference = LeanDecoder(runtime.model, CrossAttentionMemo()), LeanDecoderCache(), new_reference_cache()
    shared = states.expand(beams, -1, -1)  # what beam search passes: one window for every row
    tokens = torch.tensor([[runtime.tokens.sot]] * beams)
    with torch.no_grad():
        got = lean.logits(tokens, shared, cache)
    assert cache.shared_encoder
    reference_logits(tiny_reference, tokens, shared, reference)
    generator = torch.Generator().manual_seed(0)
    rows = beams
    for step_index in range(12):
        # Rows continue other rows (as beams do), and after step 6 only three rows live on.
        keep = 3 if step_index >= 6 else rows
        order = torch.randint(0, rows, (keep,), generator=generator)
        cache.reorder_cache(order)
        reference.reorder_cache(order)
        rows = keep
        step = torch.randint(0, runtime.tokens.eot, (rows, 1), generator=generator)
        with torch.no_grad():
            got = lean.logits(step, shared[:rows], cache)
        expected = reference_logits(tiny_reference, step, shared[:rows], reference)
        assert got.shape == expected.shape
        assert (got - expected).abs().max() < TOLERANCE, step_index


def test_a_batch_of_different_windows_and_the_alignment_queries(runtime, states, tiny_reference):
    audio = decode_audio(clip_path("one_two_three.wav"))
    other = runtime.encode(runtime.log_mel(audio)[:, :3000])
    batch = torch.cat([states, other])
    tokens = torch.tensor([[runtime.tokens.sot]] * 2)
    cache, queries = LeanDecoderCache(), {}
    with torch.no_grad():
        got = LeanDecoder(runtime.model).logits(tokens, batch, cache, cross_queries=queries)
    assert not cache.shared_encoder
    expected = reference_logits(tiny_reference, tokens, batch, new_reference_cache())
    assert (got - expected).abs().max() < TOLERANCE
    assert (got[0] - got[1]).abs().max() > 1.0  # two windows, two different predictions
    layers = runtime.config["decoder_layers"]
    assert sorted(queries) == list(range(layers))
    assert queries[0].shape == (2, runtime.config["decoder_attention_heads"], 1,
                                runtime.config["d_model"] // runtime.config["decoder_attention_heads"])


def test_the_memo_projects_a_window_once_and_a_new_window_again(runtime, states):
    memo = CrossAttentionMemo()
    first = memo.projections(runtime.model, states)
    assert memo.projections(runtime.model, states) is first
    assert memo.projections(runtime.model, states.expand(3, -1, -1)[:1]) is first  # the same states, another view
    other = states.clone()
    assert memo.projections(runtime.model, other) is not first
    memo.clear()
    assert memo.projections(runtime.model, other) is not first


def test_q_k_v_stay_views_of_the_fused_weight_after_the_model_is_moved():
    from livecaption.asr.whisper.lean_decoder import tie_fused_projections
    from livecaption.asr.whisper.recognizer import WhisperRecognizer

    model = WhisperRecognizer("tiny.en", "cpu", "fp32", verify_precision=False).runtime.model

    def shares_storage(attention) -> bool:
        fused = attention.qkv_proj.weight
        return all(part.weight.untyped_storage().data_ptr() == fused.untyped_storage().data_ptr()
                   for part in (attention.q_proj, attention.k_proj, attention.v_proj))

    attention = model.model.decoder.layers[0].self_attn
    assert shares_storage(attention)  # as loaded: nothing stored twice
    model.to(torch.float64)  # what a move to the GPU does to every parameter: a copy of each
    assert not shares_storage(attention)
    tie_fused_projections(model)
    assert all(shares_storage(layer.self_attn) for layer in model.model.decoder.layers)
    d = attention.qkv_proj.in_features
    assert torch.equal(attention.k_proj.weight, attention.qkv_proj.weight[d : 2 * d])
