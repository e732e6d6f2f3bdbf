#!/usr/bin/env bash
# The GPU benchmark rows of issue "Speed", as one script for a lent GPU machine (no network).
#
#   bash benchmarks/gpu.sh                 # on the GPU machine, in the repository root
#   QUICK=1 bash benchmarks/gpu.sh         # tiny sizes: checks the script (CPU is fine)
#
# Uses the machine's own python3 (jax with its CUDA plugin, torch with CUDA, flax, optax,
# orbax). What jaxaudio needs beyond that (librosa, soundfile, soxr and their small
# dependencies) is installed offline from $WHEELS, made beforehand on a machine with network:
#
#   pip download -d .device-wheels --only-binary=:all: --python-version 3.12 \
#       --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 --no-deps \
#       librosa==0.11.0 soundfile==0.14.0 cffi pycparser soxr==1.1.0 audioread decorator \
#       pooch platformdirs flax==0.12.8 optax==0.2.8
#
# Each benchmark runs in its own process with its own time limit, so one failure does not
# lose the others; JSON and logs go to $OUT (default results/benchmarks/gpu).
set -u
cd "$(dirname "$0")/.."
PY=${PY:-python3}
WHEELS=${WHEELS:-.device-wheels}
OUT=${OUT:-results/benchmarks/gpu}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export XLA_PYTHON_CLIENT_PREALLOCATE=false  # JAX and PyTorch share the GPU in one process
export TF_CPP_MIN_LOG_LEVEL=2

nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv 2>/dev/null || echo "no nvidia-smi"
if ! $PY -c "import librosa, soundfile, soxr" 2>/dev/null; then
    echo "installing librosa, soundfile, soxr from $WHEELS (offline)"
    $PY -m pip install -q --no-index --no-deps "$WHEELS"/{librosa,soundfile,cffi,pycparser,soxr,audioread,decorator,pooch,platformdirs}-*.whl || exit 1
fi
# flax nnx before 0.12 lacks APIs jaxaudio uses: fall back to the carried flax/optax then
if ! $PY -c "import flax, sys; sys.exit(tuple(map(int, flax.__version__.split('.')[:2])) < (0, 12))"; then
    echo "flax too old: installing the carried flax/optax"
    $PY -m pip install -q --no-index --no-deps "$WHEELS"/{flax,optax}-*.whl || exit 1
fi
$PY - <<'EOF'
import importlib.metadata as m, jax
print("versions:", {d: m.version(d) for d in ("jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "torch", "librosa", "numpy")})
print("jax devices:", jax.devices())
EOF

if [ -n "${QUICK:-}" ]; then
    F="--clips 64 --repeats 1"; FB="--clips 256 --repeats 1 --feature-batch 256"
    C="--samples 256 --epochs 2"; V="--samples 128 --epochs 1"; T=600
else
    # 4,096 synthetic samples = 64 CNN batches per epoch; 50 epochs of the seed CNN (issue)
    F="--clips 2000 --repeats 3"; FB="--clips 2000 --repeats 3 --feature-batch 512"
    C="--samples 4096 --epochs 50"; V="--samples 4096 --epochs 5"; T=0
fi
step() {  # name, time limit (s), args...
    local name=$1 limit=$2; shift 2
    [ "$T" != 0 ] && limit=$T
    echo "=== $name (limit ${limit}s): benchmarks.run $*"
    local t0=$SECONDS
    timeout "$limit" $PY -m benchmarks.run "$@" --out "$OUT/$name.json" >"$OUT/$name.log" 2>&1
    echo "=== $name: exit $? after $((SECONDS - t0)) s"
    sed -n '/^benchmark /,$p' "$OUT/$name.log"
    grep -E "Error|error:|Traceback" "$OUT/$name.log" | tail -5
}
step features 100 --only features $F
step features_b512 90 --only features $FB
step train_cnn 220 --only train --arch cnn --bf16 $C
step train_vit 100 --only train --arch vit $V
