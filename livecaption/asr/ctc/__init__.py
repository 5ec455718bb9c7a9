"""CTC speech recognizers (wav2vec2 and HuBERT fine-tuned for CTC) behind ``livecaption.asr.load_recognizer``.

files: the folder checked before loading; runtime: the weights and one forward pass; decode: greedy
CTC with word times from the frames; recognizer: the ``Recognizer`` protocol; streaming: its policy.
"""
