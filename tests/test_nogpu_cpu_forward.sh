#!/bin/sh
# `darknet -nogpu` in a GPU build runs the CPU path. Upstream skips the
# logistic activation of the yolo and region layers there (#ifndef GPU) and
# aborts on machines without a GPU (unconditional cudaMalloc). Patch 0013:
# the same fixed forward pass (tests/tools/detect_forward.c) gives the same
# outputs, costs and true losses in the CPU build and in the GPU build with
# gpu_index = -1, on this machine, GPU or not. Skipped (77) without nvcc.
. tests/lib.sh
cuda_toolkit
# The same GPU tree as test_gpu_build (CUDNN=1 where cuDNN is installed).
make -s -j"$(nproc)" GPU=1 CUDNN=$CUDNN subbuild >"$TMP/gpu.log" 2>&1 || { bad "make GPU=1 CUDNN=$CUDNN subbuild failed"; tail -20 "$TMP/gpu.log"; finish; }
GT=$(make -s GPU=1 CUDNN=$CUDNN print-TREE)
CT=$(make -s print-TREE)
GL="-L$CUDA_HOME/lib64 -lcudart -lcublas -lcurand -lstdc++"
[ $CUDNN = 1 ] && GL="$GL -lcudnn"
# -lopenblas for a build whose gemm calls it.
blas_of() { nm "$1/libdarknet.a" 2>/dev/null | grep -qw 'U cblas_sgemm' && echo "-lopenblas"; }
gcc -O2 -I"$CT/include" -I"$CT/src" -o "$TMP/fwd_cpu" tests/tools/detect_forward.c "$CT/libdarknet.a" \
    -lm -pthread $(blas_of "$CT") || bad "driver does not build against the CPU build"
D="-DGPU"; [ $CUDNN = 1 ] && D="$D -DCUDNN"
gcc -O2 $D -I"$CUDA_HOME/include" -I"$GT/include" -I"$GT/src" -o "$TMP/fwd_gpu" tests/tools/detect_forward.c "$GT/libdarknet.a" \
    -lm -pthread $GL $(blas_of "$GT") || bad "driver does not build against the GPU build"

# One head per cfg: upstream sizes net->truth by the last layer, so yolo
# (90 boxes) and region (30 boxes) heads cannot share a network.
head='[net]
batch=2
subdivisions=1
width=64
height=64
channels=3
max_batches=2
learning_rate=0.01
[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky
[convolutional]
filters=21
size=1
stride=1
pad=1
activation=linear'
printf '%s\n[yolo]\nmask=0,1,2\nanchors=8,8, 16,16, 24,30, 40,40, 50,60, 64,64\nclasses=2\nnum=6\nignore_thresh=.5\n' "$head" > "$TMP/yolo.cfg"
printf '%s\n[region]\nanchors=1,1, 2,2, 3,3\nclasses=2\ncoords=4\nnum=3\nsoftmax=1\n' "$head" > "$TMP/region.cfg"
LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}:$CUDA_HOME/lib64"; export LD_LIBRARY_PATH
: > "$TMP/cpu.txt"; : > "$TMP/gpu.txt"
for c in yolo region; do
    "$TMP/fwd_cpu" "$TMP/$c.cfg" >>"$TMP/cpu.txt" 2>"$TMP/cpu.err" || { bad "$c: CPU build forward failed"; tail -5 "$TMP/cpu.err"; }
    "$TMP/fwd_gpu" "$TMP/$c.cfg" >>"$TMP/gpu.txt" 2>"$TMP/gpu.err" || { bad "$c: GPU build forward with gpu_index=-1 failed"; tail -5 "$TMP/gpu.err"; }
done
echo "CPU build:"; grep '^layer' "$TMP/cpu.txt"
echo "GPU build, -nogpu path:"; grep '^layer' "$TMP/gpu.txt"
n=$(grep -c '^layer' "$TMP/cpu.txt")
[ "$n" = 2 ] && ok "both detection layers reported (yolo, region)" || bad "expected 2 detection layers, got $n"
# Same numbers to 1e-4 relative (same code on the CPU path; only float order may differ).
if python3 - "$TMP/cpu.txt" "$TMP/gpu.txt" <<'PY'
import sys
def rows(p):
    return [l.split() for l in open(p) if l.startswith("layer")]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
if len(a) != len(b) or not a: sys.exit(1)
worst = 0
for x, y in zip(a, b):
    for i in (3, 5, 7):
        u, v = float(x[i]), float(y[i])
        worst = max(worst, abs(u - v) / max(abs(u), 1e-6))
print("worst relative difference %.3g" % worst)
sys.exit(0 if worst <= 1e-4 else 1)
PY
then ok "GPU build with -nogpu: same yolo/region outputs, costs and true losses as the CPU build"
else bad "GPU build with -nogpu differs from the CPU build (activation skipped?)"
fi
finish
