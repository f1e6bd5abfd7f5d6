#!/bin/sh
# A cfg without policy=alig trains as untouched upstream does: the same
# driver (tests/tools/train_fixed.c: fixed seed, fixed data) linked against
# upstream's own build and against ours gives the same weights after 3
# steps, to float rounding (our build computes gemm with OpenBLAS and sums
# batch-norm statistics in another order): rtol 1e-3, atol 1e-4 (weights are about 0.1;
# a real change of momentum, decay or rate moves them by far more).
. tests/lib.sh
make -s upstream >"$TMP/up.log" 2>&1 || { bad "upstream build failed"; tail "$TMP/up.log"; finish; }
LIBS="-lm -pthread"
nm libdarknet.a 2>/dev/null | grep -q 'U cblas_sgemm' && LIBS="$LIBS -lopenblas"
gcc -O2 -Ibuild/plain/include -o "$TMP/train_up" tests/tools/train_fixed.c build/plain/libdarknet.a -lm -pthread || bad "driver vs upstream does not build"
gcc -O2 -Iinclude -o "$TMP/train_ours" tests/tools/train_fixed.c libdarknet.a $LIBS || bad "driver vs ours does not build"
for policy in steps poly; do
    small_cfg "$TMP/$policy.cfg" "policy=$policy
learning_rate=0.05
momentum=0.9
decay=0.0005
steps=2
scales=.1
power=2"
    seed=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    "$TMP/train_up" "$TMP/$policy.cfg" "$TMP/up.weights" 3 "$seed" >"$TMP/up.out" 2>&1 || bad "$policy: upstream run failed"
    "$TMP/train_ours" "$TMP/$policy.cfg" "$TMP/ours.weights" 3 "$seed" >"$TMP/ours.out" 2>&1 || bad "$policy: our run failed"
    if r=$(tests/tools/compare_weights.py "$TMP/up.weights" "$TMP/ours.weights" 1e-3 1e-4); then
        ok "policy=$policy, seed $seed, 3 steps: same weights as upstream ($r)"
    else
        bad "policy=$policy, seed $seed: weights differ from upstream ($r)"
    fi
    paste "$TMP/up.out" "$TMP/ours.out" | grep "^step" | tail -2
done
finish
