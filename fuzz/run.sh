#!/bin/sh
# make fuzz: builds the libFuzzer harnesses in fuzz/ against the patched tree
# with clang (-fsanitize=fuzzer,address) and runs each for FUZZ_TIME seconds
# on a copy of its committed corpus (fuzz/corpus/NAME). New inputs go to
# build/fuzz/corpus-NAME, crashes to build/fuzz/crash-NAME-*; a crash makes
# this script exit 1 (turn each into a test, then add it to the corpus).
# Usage: fuzz/run.sh TREE [SECONDS] [NAMES...]
set -eu
TREE=$1; TIME=${2:-60}; shift; if [ $# -gt 0 ]; then shift; fi
NAMES=${*:-cfg lists weights}
CC=${FUZZ_CC:-clang}
OUT=build/fuzz
JOBS=${FUZZ_JOBS:-2}
mkdir -p "$OUT/obj"
command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (libFuzzer needs clang)"; exit 77; }
FLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=address -Wno-everything -I$TREE/include -I$TREE/src"
# The library objects, rebuilt when a source is newer.
# Exactly the objects of libdarknet.a (upstream's OBJ plus src/fork.mk).
rm -f "$OUT/compile.txt"
for obj in $(ar t "$TREE/libdarknet.a"); do
    c=$TREE/src/${obj%.o}.c
    [ -f "$c" ] || continue
    o=$OUT/obj/$obj
    [ -f "$o" ] && [ "$o" -nt "$c" ] && continue
    echo "$CC -c $c -o $o"
done >> "$OUT/compile.txt"
touch "$OUT/compile.txt"
if [ -s "$OUT/compile.txt" ]; then
    echo "fuzz: compiling $(wc -l < "$OUT/compile.txt") files with $CC"
    sed "s|\$| $FLAGS -fsanitize=fuzzer-no-link|" "$OUT/compile.txt" | xargs -P "$JOBS" -I{} sh -c '{}'
fi
LIBOBJS=$(for o in $(ar t "$TREE/libdarknet.a"); do if [ -f "$OUT/obj/$o" ]; then echo "$OUT/obj/$o"; fi; done)
status=0
for n in $NAMES; do
    "$CC" $FLAGS -fsanitize=fuzzer -Wl,--wrap=exit -Ifuzz -o "$OUT/fuzz_$n" "fuzz/fuzz_$n.c" $LIBOBJS -lm -pthread
    mkdir -p "$OUT/corpus-$n"
    cp fuzz/corpus/"$n"/* "$OUT/corpus-$n/" 2>/dev/null || true
    echo "fuzz: $n for ${TIME}s"
    if ! ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 "$OUT/fuzz_$n" -max_total_time="$TIME" \
            -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$OUT/crash-$n-" -print_final_stats=1 \
            "$OUT/corpus-$n" > "$OUT/log-$n.txt" 2>&1; then
        echo "fuzz: $n FOUND A CRASH: $(ls -t "$OUT"/crash-$n-* 2>/dev/null | head -1)"; status=1
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$OUT/log-$n.txt" | sed "s/^/fuzz: $n: /"
done
exit $status
