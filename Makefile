# ALI-G for Darknet. Builds pjreddie/darknet at the pinned commit with our
# hook patches (patches/series) and our own files (src/) laid over it.
# Upstream's flags keep their meaning: GPU, CUDNN, OPENCV, OPENMP, DEBUG.
# BLAS=1/0 forces OpenBLAS under gemm_cpu on/off (default: on when found).

GPU ?= 0
CUDNN ?= 0
OPENCV ?= 0
OPENMP ?= 0
DEBUG ?= 0
BLAS ?=

BUILD    := build
PRISTINE := $(BUILD)/upstream
VARIANT  := gpu$(GPU)-cudnn$(CUDNN)-opencv$(OPENCV)-omp$(OPENMP)-debug$(DEBUG)-blas$(if $(BLAS),$(BLAS),auto)
TREE     := $(BUILD)/$(VARIANT)
SERIES   := $(shell cat patches/series)
PATCHES  := $(addprefix patches/,$(SERIES))
OURS     := $(wildcard src/*.c src/*.h src/*.cu src/*.mk)
COPIED   := $(patsubst src/%,$(TREE)/src/%,$(OURS))
SUBFLAGS := GPU=$(GPU) CUDNN=$(CUDNN) OPENCV=$(OPENCV) OPENMP=$(OPENMP) DEBUG=$(DEBUG) $(if $(BLAS),BLAS=$(BLAS))
OUTPUTS  := darknet libdarknet.a libdarknet.so

.PHONY: all subbuild upstream patch demo test bench deps clean distclean
.DELETE_ON_ERROR:

all: $(OUTPUTS) include/darknet.h

# --- upstream source, fetched once and verified -------------------------
$(PRISTINE)/.fetched:
	@echo "== fetching pjreddie/darknet 61c9d02e"
	scripts/fetch-upstream $(PRISTINE) $(BUILD)/fetch
	touch $@

# --- one patched tree per flag combination ------------------------------
define patched_tree
	rm -rf $(1).tmp && cp -a $(PRISTINE) $(1).tmp && rm -f $(1).tmp/.fetched
	for p in $(SERIES); do \
	    patch -d $(1).tmp -p1 -s --no-backup-if-mismatch < patches/$$p || { echo "patch $$p failed"; exit 1; }; \
	done
endef

$(TREE)/.patched: $(PRISTINE)/.fetched patches/series $(PATCHES)
	@echo "== applying patches/series to $(TREE)"
	$(call patched_tree,$(TREE))
	rm -rf $(TREE) && mv $(TREE).tmp $(TREE) && touch $@

$(TREE)/src/%: src/% $(TREE)/.patched
	cp $< $@

subbuild: $(TREE)/.patched $(COPIED)
	@$(MAKE) -q -s -C $(TREE) $(SUBFLAGS) 2>/dev/null || $(MAKE) -C $(TREE) $(SUBFLAGS)

$(OUTPUTS): subbuild
	@cmp -s $(TREE)/$@ $@ || { cp $(TREE)/$@ $@.tmp && mv -f $@.tmp $@; }

include/darknet.h: subbuild
	@mkdir -p include
	@cmp -s $(TREE)/include/darknet.h $@ || cp $(TREE)/include/darknet.h $@

# --- untouched upstream, for side-by-side tests and benchmarks ----------
upstream: $(BUILD)/plain/darknet
$(BUILD)/plain/darknet: $(PRISTINE)/.fetched
	rm -rf $(BUILD)/plain && cp -a $(PRISTINE) $(BUILD)/plain && rm -f $(BUILD)/plain/.fetched
	$(MAKE) -C $(BUILD)/plain

# --- one combined patch for users' own checkouts ------------------------
patch: alig-darknet.patch
alig-darknet.patch: $(PRISTINE)/.fetched patches/series $(PATCHES) $(OURS)
	$(call patched_tree,$(BUILD)/patch-tree)
	cp $(OURS) $(BUILD)/patch-tree.tmp/src/
	rm -rf $(BUILD)/patch-tree && mv $(BUILD)/patch-tree.tmp $(BUILD)/patch-tree
	cd $(BUILD) && diff -ruN upstream patch-tree -x .fetched > ../$@.tmp; test $$? -le 1
	mv $@.tmp $@
	@echo "wrote $@: apply with 'patch -p1 < $@' in a checkout of 61c9d02e, then make"

# --- the two commands of the README -------------------------------------
deps:
	@scripts/install-deps

demo:
	@scripts/demo

bench:
	@scripts/bench

test:
	@scripts/run-tests

clean:
	rm -rf $(BUILD)/gpu* $(BUILD)/plain $(BUILD)/patch-tree* $(BUILD)/tests $(OUTPUTS) include alig-darknet.patch

distclean: clean
	rm -rf $(BUILD)

print-%:
	@echo $($*)

# --- fuzzing (issue 6): libFuzzer harnesses in fuzz/, FUZZ_TIME seconds each
FUZZ_TIME ?= 60
.PHONY: fuzz
fuzz: subbuild
	@sh fuzz/run.sh $(TREE) $(FUZZ_TIME)

# --- ALI-G against Darknet's schedules; the regression gate ---------------
# make compare: 5 epochs of Fashion-MNIST, seeds 1-3, alig/steps/poly/constant/exp,
# plus the max_lr / lr sweep; tables and PNGs in results/compare/ (hours on a CPU).
# A quick look: make compare COMPARE_ARGS="--epochs 1 --out results/compare-1ep"
# make regress: ~4 minutes of training; exits non-zero when ALI-G regresses
# against tests/reference/regress.json (tolerances stated there).
.PHONY: compare regress
COMPARE_ARGS ?=
REGRESS_ARGS ?=
compare: all
	@scripts/compare --sweep 0.01,0.03,0.1,0.3,1 --jobs 2 $(COMPARE_ARGS)

regress: all
	@scripts/regress $(REGRESS_ARGS)

# --- detection: ALI-G against the steps twin (yolov3-tiny, Fashion-MNIST set)
# Trains cfg/yolov3-tiny-{alig,steps}.cfg one after the other (~15 min each on
# 2 cores), evaluates both with `darknet detector map`; results-detection/.
.PHONY: detect-compare
DETECT_ARGS ?=
detect-compare: all
	@scripts/detect-compare $(DETECT_ARGS)
