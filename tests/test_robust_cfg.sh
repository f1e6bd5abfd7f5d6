#!/bin/sh
# Malformed cfg files (issue 6): each one stops before training with a message
# naming the file (and line, layer or key) and a non-zero exit, never a
# segfault, a floating-point exception or exit 0. Also: fatal helpers and
# usage errors exit non-zero (patch 0200).
. tests/lib.sh
DN=${DARKNET:-./darknet}
printf 'classes=10\ntrain=%s/none.list\nlabels=%s/none.labels\nbackup=%s\n' "$TMP" "$TMP" "$TMP" > "$TMP/x.data"
train() { "$DN" classifier train "$TMP/x.data" "$@"; }

# 0200: fatal helpers and usage errors
expect_fail missing_cfg "Couldn't open file: $TMP/nope.cfg" -- train "$TMP/nope.cfg"
expect_fail no_function "usage" -- "$DN"
expect_fail not_an_option "Not an option: frobnicate" -- "$DN" frobnicate
expect_fail classifier_usage "usage" -- "$DN" classifier
expect_fail classifier_cmd "Not a classifier command: trian" -- "$DN" classifier trian "$TMP/x.data" x.cfg

# 0201: the parser
printf 'classes = 1\n[net]\nbatch=2\nheight=28\nwidth=28\nchannels=3\n[softmax]\n' > "$TMP/nosection.cfg"
expect_fail option_before_section "$TMP/nosection.cfg:1:" "option before the first [section]" -- train "$TMP/nosection.cfg"
printf '[net]\nbatch=2\nheight=28\nwidth=28\nchannels=3\nlearning_rate 0.1\n[softmax]\n' > "$TMP/noeq.cfg"
expect_fail line_without_equals "$TMP/noeq.cfg:6:" "not key=value" -- train "$TMP/noeq.cfg"
: > "$TMP/empty.cfg"
expect_fail empty_cfg "$TMP/empty.cfg" "no [net] section" -- train "$TMP/empty.cfg"
printf '[net]\nbatch=2\nheight=28\nwidth=28\nchannels=3\n' > "$TMP/nolayers.cfg"
expect_fail no_layers "$TMP/nolayers.cfg" "no layers after [net]" -- train "$TMP/nolayers.cfg"
printf '[convolutional]\nfilters=1\n[net]\nbatch=2\n' > "$TMP/first.cfg"
expect_fail net_not_first "$TMP/first.cfg" "must be [net]" -- train "$TMP/first.cfg"

small_cfg "$TMP/route.cfg" ""; printf '[route]\n' >> "$TMP/route.cfg"
expect_fail bare_route "$TMP/route.cfg" "layer 4 [route] layers=" "missing" -- train "$TMP/route.cfg"
small_cfg "$TMP/route2.cfg" ""; printf '[route]\nlayers=-9\n' >> "$TMP/route2.cfg"
expect_fail route_out_of_range "$TMP/route2.cfg" "layers=-9" "only layers 0..3" -- train "$TMP/route2.cfg"
small_cfg "$TMP/route3.cfg" ""; printf '[route]\nlayers=1,x\n' >> "$TMP/route3.cfg"
expect_fail route_junk "$TMP/route3.cfg" "layers=1,x" "not a list" -- train "$TMP/route3.cfg"
small_cfg "$TMP/short.cfg" ""; printf '[shortcut]\n' >> "$TMP/short.cfg"
expect_fail bare_shortcut "$TMP/short.cfg" "[shortcut] from=" "missing" -- train "$TMP/short.cfg"
small_cfg "$TMP/unknown.cfg" ""; printf '[convolutionnal]\nfilters=2\n' >> "$TMP/unknown.cfg"
expect_fail unknown_section "$TMP/unknown.cfg" "unknown section [convolutionnal]" -- train "$TMP/unknown.cfg"

net() { # name expected-substring net-lines
    small_cfg "$TMP/$1.cfg" "$3"
    expect_fail "$1" "$TMP/$1.cfg" "$2" -- train "$TMP/$1.cfg"
}
net steps_count_mismatch "scales=.1" "policy=steps
steps=1,2
scales=.1"
net steps_missing "policy=steps needs steps=" "policy=steps"
net steps_junk "steps=1,a" "policy=steps
steps=1,a
scales=.1,.1"
small_cfg "$TMP/sub0.cfg" ""; sed -i 's/batch=32/batch=4/; s/subdivisions=1/subdivisions=0/' "$TMP/sub0.cfg"
expect_fail subdivisions_zero "$TMP/sub0.cfg" "subdivisions=0" "must be >= 1" -- train "$TMP/sub0.cfg"
small_cfg "$TMP/sub8.cfg" ""; sed -i 's/batch=32/batch=4/; s/subdivisions=1/subdivisions=8/' "$TMP/sub8.cfg"
expect_fail subdivisions_gt_batch "$TMP/sub8.cfg" "subdivisions=8" "larger than batch=4" -- train "$TMP/sub8.cfg"
small_cfg "$TMP/batch0.cfg" ""; sed -i 's/batch=32/batch=0/' "$TMP/batch0.cfg"
expect_fail batch_zero "$TMP/batch0.cfg" "batch=0" -- train "$TMP/batch0.cfg"
small_cfg "$TMP/stride0.cfg" ""; sed -i 's/^stride=1/stride=0/' "$TMP/stride0.cfg"
expect_fail conv_stride_zero "$TMP/stride0.cfg" "layer 0 [convolutional] stride=0" -- train "$TMP/stride0.cfg"
small_cfg "$TMP/size.cfg" ""; sed -i 's/^size=3/size=99/; s/^pad=1/pad=0/' "$TMP/size.cfg"
expect_fail conv_window_too_big "$TMP/size.cfg" "layer 0 [convolutional]" "smaller than the window 99" -- train "$TMP/size.cfg"
small_cfg "$TMP/noin.cfg" ""; sed -i '/^height=/d; /^width=/d; /^channels=/d' "$TMP/noin.cfg"
expect_fail no_input "$TMP/noin.cfg" "[net]" -- train "$TMP/noin.cfg"
# Found by fuzz/fuzz_cfg (heap overflow in get_network_output_layer).
printf '[net]\ninputs=16\n\n[cost]\ntype=sse\n' > "$TMP/cost_only.cfg"
expect_fail fuzz_cost_only "$TMP/cost_only.cfg" "layer 0 [cost]" "cannot be the first layer" -- train "$TMP/cost_only.cfg"
printf '[net]\ninputs=16\n[dropout]\n[connected]\noutput=2\n' > "$TMP/dropout_first.cfg"
expect_fail dropout_first "$TMP/dropout_first.cfg" "layer 0 [dropout]" "cannot be the first layer" -- train "$TMP/dropout_first.cfg"
# 0210: a file named in the cfg that is missing (softmax tree=).
small_cfg "$TMP/tree.cfg" ""; sed -i "s|^\[softmax\]|[softmax]\ntree=$TMP/none.tree|" "$TMP/tree.cfg"
expect_fail missing_tree "Couldn't open file: $TMP/none.tree" -- train "$TMP/tree.cfg"
# Detection heads that do not fit the layer before (upstream: assert/abort).
net_head() { printf '[net]\nbatch=1\nheight=8\nwidth=8\nchannels=3\n'; }
net_head > "$TMP/yolo.cfg"; printf '[convolutional]\nfilters=7\nsize=1\nactivation=linear\n[yolo]\nmask=0,1\nnum=3\nclasses=2\n' >> "$TMP/yolo.cfg"
expect_fail yolo_filters "$TMP/yolo.cfg" "layer 1 [yolo]" "filters=14 before it" -- train "$TMP/yolo.cfg"
net_head > "$TMP/yolo2.cfg"; printf '[convolutional]\nfilters=14\nsize=1\nactivation=linear\n[yolo]\nmask=0,3\nnum=3\nclasses=2\n' >> "$TMP/yolo2.cfg"
expect_fail yolo_mask "$TMP/yolo2.cfg" "mask=0,3" "anchor indexes 0..2" -- train "$TMP/yolo2.cfg"
net_head > "$TMP/yolo3.cfg"; printf '[convolutional]\nfilters=14\nsize=1\nactivation=linear\n[yolo]\nmask=0,1\nnum=2\nclasses=2\nanchors=1,2,3,4,5,6\n' >> "$TMP/yolo3.cfg"
expect_fail yolo_anchors "$TMP/yolo3.cfg" "anchors=1,2,3,4,5,6" "at most 4" -- train "$TMP/yolo3.cfg"
net_head > "$TMP/region.cfg"; printf '[convolutional]\nfilters=7\nsize=1\nactivation=linear\n[region]\nnum=2\nclasses=2\n' >> "$TMP/region.cfg"
expect_fail region_filters "$TMP/region.cfg" "layer 1 [region]" "filters=14 before it" -- train "$TMP/region.cfg"

# Every crash the fuzzer found (fuzz/crashes/cfg-*): refused, not a crash.
for f in fuzz/crashes/cfg-*; do
    [ -f "$f" ] || continue
    expect_fail "fuzz crash $(basename "$f")" "$f" -- train "$f"
done
finish
