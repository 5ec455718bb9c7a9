"""A loaded CTC model: weights on the chosen device and precision, the vocabulary, one forward pass.

transformers' ``Wav2Vec2ForCTC``/``HubertForCTC`` loaded from safetensors only (never pickles,
never remote code). The raw waveform is the input (no spectrogram): the model's conv feature
encoder turns each ``stride`` samples into one frame of logits. Decoding lives in ``decode``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import warnings

import numpy as np

from livecaption.asr.ctc.decode import Vocabulary
from livecaption.asr.ctc.files import CtcFolder
from livecaption.asr.device import DeviceChoice, is_out_of_memory, quantize_int8, torch_dtype
from livecaption.asr.gpu_memory import CudaPeaks, release_memory
from livecaption.asr.locate import read_json_object
from livecaption.errors import ModelError

log = logging.getLogger("livecaption")

SAMPLE_RATE = 16_000
_CLASSES = {"wav2vec2": "Wav2Vec2ForCTC", "hubert": "HubertForCTC"}


def _vocabulary(folder: CtcFolder) -> Vocabulary:
    from transformers import Wav2Vec2CTCTokenizer

    try:  # the tokenizer, not vocab.json alone: tokenizer_config.json may rename the pad and delimiter
        tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(str(folder.path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"model folder {folder.path}: cannot load the CTC tokenizer ({str(exc)[:160]})") from None
    size = int(folder.config["vocab_size"])
    known = {index: token for token, index in tokenizer.get_vocab().items() if 0 <= index < size}
    tokens = tuple(known.get(i, "") for i in range(size))
    # The CTC blank is the id the model was trained with as blank: config.pad_token_id (transformers'
    # CTC loss uses it), else the tokenizer's pad.
    blank = folder.config.get("pad_token_id")
    if not isinstance(blank, int) or not 0 <= blank < size:
        blank = tokenizer.pad_token_id
    if blank is None:
        raise ModelError(f"model folder {folder.path}: neither config.json nor the tokenizer names the CTC blank "
                         "(pad token)")
    delimiter = tokenizer.word_delimiter_token_id
    if delimiter is not None and tokens[delimiter] != tokenizer.word_delimiter_token:
        delimiter = None  # a vocabulary without one maps it to <unk>: no delimiter at all
    specials = {tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id}
    silent = frozenset(i for i in specials if i is not None) | {i for i in range(size) if not tokens[i]}
    letters = [t for t in tokens if len(t) == 1 and t.isalpha() and t.lower() != t.upper()]
    return Vocabulary(tokens, blank, delimiter, frozenset(silent - {blank, delimiter}),
                      lowercase=bool(letters) and all(t.isupper() for t in letters))


def _preprocessing(folder: CtcFolder) -> bool:
    """Whether inputs are normalised to zero mean and unit variance (``do_normalize``, default yes)."""
    path = folder.path / "preprocessor_config.json"
    if not path.exists():
        return True
    config = read_json_object(path, f"model folder {folder.path}")
    rate = config.get("sampling_rate", SAMPLE_RATE)
    if rate != SAMPLE_RATE:
        raise ModelError(f"model folder {folder.path}: preprocessor_config.json has sampling_rate {rate}; "
                         f"livecaption feeds {SAMPLE_RATE} Hz audio")
    if config.get("feature_size", 1) != 1:
        raise ModelError(f"model folder {folder.path}: preprocessor_config.json has feature_size "
                         f"{config.get('feature_size')}; a wav2vec2/HuBERT model reads the raw waveform (1)")
    return bool(config.get("do_normalize", True))


class CtcRuntime(CudaPeaks):
    """Weights and vocabulary of one CTC model on one device/precision."""

    def __init__(self, folder: CtcFolder, choice: DeviceChoice):
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        self.folder = folder
        self.vocab = _vocabulary(folder)
        self.normalize = _preprocessing(folder)
        # One output frame per ``stride`` samples; the first needs ``receptive_field`` samples.
        self.stride = math.prod(folder.conv_strides)
        field = 1
        for kernel, stride in reversed(list(zip(folder.conv_kernels, folder.conv_strides))):
            field = (field - 1) * stride + kernel
        self.receptive_field = field
        self.choice = choice
        self._session_peak = 0
        self.model = self._load(choice)

    @property
    def stride_s(self) -> float:
        return self.stride / SAMPLE_RATE

    def frames(self, samples: int) -> int:
        """Output frames for ``samples`` of input: each conv layer's valid-convolution length."""
        length = samples
        for kernel, stride in zip(self.folder.conv_kernels, self.folder.conv_strides):
            length = (length - kernel) // stride + 1 if length >= kernel else 0
        return length

    # -- loading --------------------------------------------------------------------------

    def _load_weights(self, choice: DeviceChoice):
        import transformers

        model_class = getattr(transformers, _CLASSES[self.folder.kind])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # weight-norm renames and the like: not the user's concern
                model = model_class.from_pretrained(str(self.folder.path), dtype=torch_dtype(choice.precision),
                                                    use_safetensors=True, trust_remote_code=False)
        except (OSError, ValueError, RuntimeError) as exc:
            text = " ".join(str(exc).split())[:200]
            raise ModelError(f"cannot load model weights from {self.folder.path}: {text}") from None
        model.eval()
        if choice.precision == "int8":
            model = quantize_int8(model)
        return model

    def _load(self, choice: DeviceChoice):
        import torch

        model = self._load_weights(choice)
        if not choice.is_cuda:
            return model
        try:
            if torch.cuda.is_available():  # inside the try: creating the context can itself run out of memory
                torch.cuda.reset_peak_memory_stats(torch.device(choice.device))
                self._session_peak = 0
            return model.to(choice.device)
        except RuntimeError as exc:
            if not is_out_of_memory(exc):
                raise
        # Out of the except block, whose traceback held the half-moved model: now it can be freed.
        del model
        release_memory()
        self.choice = choice.fall_back_to_cpu("CUDA out of memory while loading the model")
        return self._load_weights(self.choice)

    def switch_to_fp32(self, reason: str) -> None:
        """Reload the weights in fp32 on the same device (the reduced precision proved unreliable)."""
        self.model = None  # free the reduced copy before loading the full one
        if self.choice.is_cuda:
            release_memory()
        self.choice = dataclasses.replace(self.choice, precision="fp32", fallback=reason)
        log.warning("%s; continuing in fp32", reason)
        self.model = self._load(self.choice)

    def move_to_cpu(self, reason: str) -> None:
        """Leave the GPU for good (out of memory mid-stream); call it outside the ``except`` block."""
        self.choice = self.choice.fall_back_to_cpu(reason)
        self.model = self.model.to("cpu", torch_dtype(self.choice.precision))
        release_memory()

    # -- forward ------------------------------------------------------------------------

    @property
    def device(self):
        return "cpu" if self.choice.precision == "int8" else next(self.model.parameters()).device

    def logits(self, audio: np.ndarray):
        """Logits (frames, vocab) of one stretch of 16 kHz mono audio, in the model's dtype."""
        import torch

        samples = np.ascontiguousarray(audio, dtype=np.float32)
        if self.normalize:  # what Wav2Vec2FeatureExtractor does per input (its epsilon too)
            samples = (samples - samples.mean()) / np.sqrt(samples.var() + 1e-7)
        with torch.inference_mode():
            inputs = torch.from_numpy(samples).unsqueeze(0).to(self.device, torch_dtype(self.choice.precision))
            return self.model(input_values=inputs).logits[0]

    # -- memory (CUDA only) -------------------------------------------------------------

