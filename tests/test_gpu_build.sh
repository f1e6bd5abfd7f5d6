#!/bin/sh
# The GPU build must never break silently, even where no GPU is at hand:
# `make GPU=1 CUDNN=1 subbuild` (CUDA 13, cuDNN 9) compiles and links, the
# default ARCH carries sm_75..sm_120 code plus PTX, our CUDA/GPU files compile
# without warnings, and the GPU tests compile and link against the GPU build.
# Skipped (77) where nvcc is absent. The first run compiles the whole GPU tree
# (all architectures of the default ARCH: minutes on 2 cores); later runs only
# what changed.
. tests/lib.sh
cuda_toolkit
echo "CUDA toolkit root: $CUDA_HOME"
[ $CUDNN = 1 ] || echo "note: cudnn.h not found: checking GPU=1 CUDNN=0 only"
echo "nvcc: $("$NVCC" --version | tail -1)"

start=$(date +%s)
if make -s -j"$(nproc)" GPU=1 CUDNN=$CUDNN subbuild >"$TMP/build.log" 2>&1; then
    ok "make GPU=1 CUDNN=$CUDNN subbuild: compiles and links ($(( $(date +%s) - start )) s)"
else
    bad "make GPU=1 CUDNN=$CUDNN subbuild failed"
    grep -v '^\(gcc\|g++\|nvcc\|ar\) ' "$TMP/build.log" | tail -30
    finish
fi
TREE=$(make -s GPU=1 CUDNN=$CUDNN print-TREE)
[ -x "$TREE/darknet" ] && [ -f "$TREE/libdarknet.a" ] && [ -f "$TREE/libdarknet.so" ] \
    && ok "darknet, libdarknet.a, libdarknet.so built in $TREE" || bad "GPU outputs missing in $TREE"
missing=$(LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}:$CUDA_HOME/lib64" ldd "$TREE/darknet" 2>/dev/null | grep 'not found')
[ -z "$missing" ] && ok "darknet's shared libraries resolve" || bad "unresolved libraries: $missing"

syms="alig_cuda_step alig_cuda_create alig_darknet_on_gpu"
[ $CUDNN = 1 ] && syms="$syms cudnn_select_conv_algorithms"
for s in $syms; do
    nm "$TREE/libdarknet.a" 2>/dev/null | grep -q " T $s\$" && ok "libdarknet.a defines $s" || bad "libdarknet.a lacks $s"
done
nm "$TREE/libdarknet.a" 2>/dev/null | grep -q ' U cudaThreadSynchronize$' && bad "cudaThreadSynchronize still referenced" \
    || ok "no reference to cudaThreadSynchronize (removed in CUDA 13)"

# Default ARCH: SASS for sm_75 .. sm_120 and PTX (compute_120) for later GPUs.
# The fat binary names its images; strings finds them (cuobjdump may be absent).
archs=$(strings "$TREE/obj/alig_cuda.o" 2>/dev/null | grep -o 'sm_[0-9]*\|compute_[0-9]*' | sort -u | tr '\n' ' ')
case "$archs" in
    *compute_120*sm_100*sm_120*sm_75*sm_80*sm_86*sm_89*sm_90*) ok "default ARCH embedded in alig_cuda.o: $archs";;
    *) if make -s GPU=1 CUDNN=$CUDNN print-ARCH 2>/dev/null | grep -q .; then
           echo "note: ARCH overridden: $archs"
       else
           bad "default ARCH: alig_cuda.o holds '$archs', expected sm_75 sm_80 sm_86 sm_89 sm_90 sm_100 sm_120 + compute_120"
       fi;;
esac

# Our GPU files, warnings as errors (one architecture: fast).
FLAGS="-Iinclude/ -Isrc/ -DGPU -I$CUDA_HOME/include/"
[ $CUDNN = 1 ] && FLAGS="$FLAGS -DCUDNN"
for f in src/*.cu; do
    b=$(basename "$f")
    (cd "$TREE" && "$NVCC" -gencode arch=compute_75,code=sm_75 $FLAGS -Werror all-warnings \
        --compiler-options "-Wall -Wno-unused-result -Wno-unknown-pragmas -Werror -fPIC -O2" \
        -c "src/$b" -o "$TMP/$b.o") >"$TMP/w.log" 2>&1 \
        && ok "$b: no warnings (nvcc -Werror all-warnings, gcc -Wall -Werror)" || { bad "$b: warnings or errors"; head -20 "$TMP/w.log"; }
done
for f in src/alig_darknet.c src/bn_recalibrate.c; do
    b=$(basename "$f")
    (cd "$TREE" && gcc $FLAGS -Wall -Wno-unused-result -Wno-unknown-pragmas -Werror -fPIC -Ofast -c "src/$b" -o "$TMP/$b.o") \
        >"$TMP/w.log" 2>&1 && ok "$b (GPU path): no warnings" || { bad "$b (GPU path): warnings or errors"; head -20 "$TMP/w.log"; }
done

# The GPU tests compile and link against the GPU build.
L="-lm -pthread -L$CUDA_HOME/lib64 -lcudart -lcublas -lcurand -lstdc++"
[ $CUDNN = 1 ] && L="$L -lcudnn"
nm "$TREE/libdarknet.a" 2>/dev/null | grep -qw 'U cblas_sgemm' && L="$L -lopenblas"
for t in tests/c/test_gpu_*.c; do
    [ -f "$t" ] || continue
    b=$(basename "$t" .c)
    D="-DGPU"; [ $CUDNN = 1 ] && D="$D -DCUDNN"
    gcc -std=gnu99 -O2 -Wall -Werror $D -I"$CUDA_HOME/include" -I"$TREE/include" -I"$TREE/src" -Itests/c \
        -o "$TMP/$b" "$t" "$TREE/libdarknet.a" $L >"$TMP/t.log" 2>&1 \
        && ok "$b compiles and links against the GPU build" || { bad "$b does not build against the GPU build"; head -20 "$TMP/t.log"; }
done
echo "elapsed: $(( $(date +%s) - start )) s"
finish
