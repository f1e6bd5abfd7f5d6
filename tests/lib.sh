# Shared helpers for tests/test_*.sh (POSIX sh, run from the repository root).
set -u
failures=0
ok()   { echo "ok - $*"; }
bad()  { echo "FAIL - $*"; failures=$((failures+1)); }
finish() { [ "$failures" -eq 0 ] && { echo "all checks passed"; exit 0; }; echo "$failures check(s) failed"; exit 1; }
TMP=$(mktemp -d /tmp/darknet-alig-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# expect_fail NAME EXPECTED_SUBSTRING... -- CMD...: CMD must exit non-zero
# and print every expected substring (stdout+stderr).
expect_fail() {
    name=$1; shift
    subs=""
    while [ "$1" != "--" ]; do subs="$subs
$1"; shift; done
    shift
    "$@" >"$TMP/out" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then bad "$name: exit 0 (expected non-zero)"; sed 's/^/    /' "$TMP/out" | tail -5; return; fi
    if [ $rc -ge 128 ]; then bad "$name: killed by signal $((rc-128))"; return; fi
    missing=$(printf '%s\n' "$subs" | while IFS= read -r s; do [ -z "$s" ] || grep -qF -- "$s" "$TMP/out" || echo "$s"; done)
    if [ -n "$missing" ]; then bad "$name: message lacks: $missing"; sed 's/^/    /' "$TMP/out" | tail -5; return; fi
    ok "$name (exit $rc: $(grep -F -- "$(printf '%s\n' "$subs" | sed -n 2p)" "$TMP/out" | head -1))"
}

# A small real Fashion-MNIST set (500 train, 200 test) in build/tests/.
fashion_small() {
    FASHION=build/tests/fashion-small
    scripts/fashion-mnist-to-darknet --out "$FASHION" --data-file "$FASHION.data" \
        --limit-train 500 --limit-test 200 >/dev/null || { echo "cannot convert Fashion-MNIST"; exit 1; }
    sed -i "s|^backup.*|backup = $TMP/backup|" "$FASHION.data"
    mkdir -p "$TMP/backup"
}

# Writes a small classifier cfg to $1; extra [net] lines from $2.
small_cfg() {
    cat >"$1" <<CFG
[net]
batch=32
subdivisions=1
height=28
width=28
channels=3
min_crop=28
max_crop=28
max_batches=40
$2

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[connected]
output=10
activation=linear

[softmax]
CFG
}

# cuda_toolkit: sets NVCC, CUDA_HOME (the root holding include/cuda_runtime.h;
# nvcc in PATH may be a wrapper script, e.g. /usr/local/bin/nvcc, so its folder
# proves nothing) and CUDNN (1 where cudnn.h is installed), and puts nvcc in
# PATH. Exits 77 (skip) without nvcc, fails without a toolkit root.
cuda_toolkit() {
    NVCC=$(command -v nvcc 2>/dev/null)
    [ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
    if [ -z "$NVCC" ]; then
        echo "skipped: nvcc not found (no CUDA toolkit in PATH or /usr/local/cuda)"
        exit 77
    fi
    PATH="$PATH:$(dirname "$NVCC")"; export PATH
    found=
    for d in "${CUDA_HOME:-}" "${CUDA_PATH:-}" "$(dirname "$(dirname "$(readlink -f "$NVCC")")")" /usr/local/cuda; do
        if [ -n "$d" ] && [ -f "$d/include/cuda_runtime.h" ]; then found=$d; break; fi
    done
    if [ -z "$found" ]; then
        bad "nvcc is $NVCC but no CUDA toolkit root with include/cuda_runtime.h was found (set CUDA_HOME)"
        finish
    fi
    CUDA_HOME=$found
    CUDNN=1
    [ -f "$CUDA_HOME/include/cudnn.h" ] || [ -f /usr/include/cudnn.h ] || CUDNN=0
}
