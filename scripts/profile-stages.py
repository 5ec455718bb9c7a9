"""Where file transcription spends its time: timers around each stage of one run.

    .venv/bin/python scripts/profile-stages.py PRECISION BEAM   # on /tmp/english.wav (make-bench-audio.py)
"""
import time, sys, collections
from livecaption.asr.whisper.recognizer import WhisperRecognizer
from livecaption.asr.types import TranscribeOptions
from livecaption.audio.decode import decode_audio
from livecaption.asr.whisper import decoding
prec = sys.argv[1]; beam = int(sys.argv[2])
a = decode_audio('/tmp/english.wav')
r = WhisperRecognizer('tiny.en', 'cpu', prec, verify_precision=False)
r.transcribe(a[:16000*5], TranscribeOptions(beam_size=beam))
acc = collections.Counter(); calls = collections.Counter()
def wrap(obj, name, label):
    f = getattr(obj, name)
    def g(*args, **kw):
        t = time.perf_counter(); out = f(*args, **kw); acc[label] += time.perf_counter() - t; calls[label] += 1; return out
    setattr(obj, name, g)
wrap(r.runtime, 'encode_batch', 'encoder')
wrap(r.runtime, 'decoder_logits', 'decoder forward')
wrap(r.aligner, 'align', 'word alignment (incl. its decoder pass)')
wrap(r.runtime, 'log_mel', 'log-mel')
orig_apply = decoding.LogitRules.apply
def apply(self, *a, **k):
    t = time.perf_counter(); out = orig_apply(self, *a, **k); acc['logit rules'] += time.perf_counter() - t; calls['logit rules'] += 1; return out
decoding.LogitRules.apply = apply
t = time.perf_counter(); res = r.transcribe(a, TranscribeOptions(beam_size=beam)); total = time.perf_counter() - t
acc['decoder forward'] -= 0  # align's own decoder pass is counted in both; reported as is
print(f"{prec} beam {beam}: total {total:.2f} s")
for k, v in acc.most_common():
    print(f"  {k:45s} {v:6.2f} s  {100*v/total:5.1f}%  calls {calls[k]}")
