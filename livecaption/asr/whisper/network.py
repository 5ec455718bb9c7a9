"""Whisper's network as plain torch modules, loaded straight from safetensors.

Importing transformers' modeling stack costs ~3 s and ~110 MB on a 2-core CPU before anything is
decoded (it pulls in torch._dynamo and torch.distributed; issue #15), and the runtime only ever
used the layers' weights: the encoder layers' forward and the decoder step (lean_decoder.py) are
its own. So the layers are declared here with the attribute names of transformers'
``WhisperForConditionalGeneration`` (``model.encoder.layers.0.self_attn.q_proj`` ...), which are
also the names in every Whisper safetensors file, and nothing else of transformers is needed to
run a model. transformers stays the reference in tests (tests/asr/test_network.py holds these
modules to its own) and the loader of other model families (CTC).

The folder is checked first (folder_check.py: config sizes, every tensor with the shape the config
implies), so loading here only has to place the tensors.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from livecaption.asr.safetensors_header import read_float_tensors, weight_files
from livecaption.asr.whisper.folder_check import config_value
from livecaption.errors import ModelError

LAYER_NORM_EPS = 1e-5  # transformers' nn.LayerNorm default, which Whisper uses


class Embedding(nn.Module):
    """A lookup table (``nn.Embedding`` without its random initialisation, which on the meta device
    imports torch._dynamo: 1.2 s of every start)."""

    def __init__(self, rows: int, d_model: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(rows, d_model, device=None))  # the caller's device (meta)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.weight)


class Attention(nn.Module):
    def __init__(self, d_model: int, heads: int) -> None:
        super().__init__()
        self.num_heads = heads
        self.head_dim = d_model // heads
        self.scaling = self.head_dim ** -0.5
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model, bias=False)  # Whisper's key projection has no bias
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """Unmasked self-attention (the encoder's). The query is scaled before the product, as in
        the original implementation: the order changes results in reduced precision."""
        batch, length, _ = hidden.shape

        def heads(x: torch.Tensor) -> torch.Tensor:
            return x.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

        query = heads(self.q_proj(hidden) * self.scaling)
        out = F.scaled_dot_product_attention(query, heads(self.k_proj(hidden)), heads(self.v_proj(hidden)), scale=1.0)
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, -1))


class _FeedForwardLayer(nn.Module):
    def __init__(self, d_model: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.self_attn = Attention(d_model, heads)
        self.self_attn_layer_norm = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)
        self.fc1 = nn.Linear(d_model, ffn)
        self.fc2 = nn.Linear(ffn, d_model)
        self.final_layer_norm = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)
        self.activation_fn = F.gelu


class EncoderLayer(_FeedForwardLayer):
    def forward(self, hidden: torch.Tensor, attention_mask=None) -> torch.Tensor:
        hidden = hidden + self.self_attn(self.self_attn_layer_norm(hidden))
        hidden = hidden + self.fc2(self.activation_fn(self.fc1(self.final_layer_norm(hidden))))
        if hidden.dtype == torch.float16:  # as transformers does: an inf would poison every later layer
            limit = torch.finfo(hidden.dtype).max - 1000
            hidden = hidden.clamp(-limit, limit)
        return hidden


class DecoderLayer(_FeedForwardLayer):
    """Weights only: lean_decoder.LeanDecoder runs the step."""

    def __init__(self, d_model: int, heads: int, ffn: int) -> None:
        super().__init__(d_model, heads, ffn)
        self.encoder_attn = Attention(d_model, heads)
        self.encoder_attn_layer_norm = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)


class Encoder(nn.Module):
    """Weights only: WhisperRuntime.encode_batch runs it (windows shorter than 30 s too)."""

    def __init__(self, config: dict) -> None:
        super().__init__()
        d, mels = config_value(config, "d_model"), int(config["num_mel_bins"])
        heads, ffn = config_value(config, "encoder_attention_heads"), config_value(config, "encoder_ffn_dim")
        self.conv1 = nn.Conv1d(mels, d, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(d, d, kernel_size=3, stride=2, padding=1)
        self.embed_positions = Embedding(config_value(config, "max_source_positions"), d)
        self.layers = nn.ModuleList(EncoderLayer(d, heads, ffn) for _ in range(config_value(config, "encoder_layers")))
        self.layer_norm = nn.LayerNorm(d, eps=LAYER_NORM_EPS)


class Decoder(nn.Module):
    def __init__(self, config: dict) -> None:
        super().__init__()
        d = config_value(config, "d_model")
        heads, ffn = config_value(config, "decoder_attention_heads"), config_value(config, "decoder_ffn_dim")
        self.embed_tokens = Embedding(int(config["vocab_size"]), d)
        self.embed_positions = Embedding(config_value(config, "max_target_positions"), d)
        self.layers = nn.ModuleList(DecoderLayer(d, heads, ffn) for _ in range(config_value(config, "decoder_layers")))
        self.layer_norm = nn.LayerNorm(d, eps=LAYER_NORM_EPS)


class _EncoderDecoder(nn.Module):
    def __init__(self, config: dict) -> None:
        super().__init__()
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)


class WhisperNetwork(nn.Module):
    """``model.encoder``, ``model.decoder`` and ``proj_out``: the layout of a Whisper checkpoint."""

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.model = _EncoderDecoder(config)
        self.proj_out = nn.Linear(config_value(config, "d_model"), int(config["vocab_size"]), bias=False)


def load_network(folder: Path, config: dict, dtype: torch.dtype) -> WhisperNetwork:
    """The checked folder's weights in ``dtype`` on the CPU, in eval mode, gradients off."""
    activation = config.get("activation_function", "gelu")
    if activation != "gelu":
        raise ModelError(f"model folder {folder}: activation_function '{str(activation)[:20]}' is not Whisper's gelu")
    with torch.device("meta"):  # no memory for initial values that the checkpoint replaces anyway
        network = WhisperNetwork(config)
    state: dict[str, torch.Tensor] = {}
    try:
        for path in weight_files(folder):
            for name, tensor in read_float_tensors(path, dtype).items():
                state[name if name.startswith(("model.", "proj_out.")) else f"model.{name}"] = tensor
    except OSError as exc:
        raise ModelError(f"cannot load model weights from {folder}: {exc.strerror or exc}") from None
    state.setdefault("proj_out.weight", state.get("model.decoder.embed_tokens.weight"))
    expected = network.state_dict().keys()
    missing = [name for name in expected if state.get(name) is None]
    if missing:  # folder_check refuses these first; this guards a folder changed in between
        raise ModelError(f"model folder {folder}: the weights lack {', '.join(missing[:3])}")
    network.load_state_dict({name: state[name] for name in expected}, assign=True)
    if config.get("tie_word_embeddings", True) is not False:
        network.proj_out.weight = network.model.decoder.embed_tokens.weight  # one copy, as in the checkpoint
    network.eval().requires_grad_(False)
    return network
