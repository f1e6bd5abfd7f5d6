# Objects built from this fork's own files in src/ (C, then CUDA for GPU=1).
# Included by upstream's Makefile through patches/0009.
FORK_OBJ += alig.o alig_darknet.o cfg_check.o gemm_blas.o label_match.o bn_recalibrate.o cpu_fast.o
FORK_CUDA_OBJ += cudnn_algo.o alig_cuda.o
FORK_OBJ += train_log.o
FORK_OBJ += robust.o weights_io.o alig_resume.o
FORK_OBJ += detection_loss.o detection_loss_darknet.o
FORK_OBJ += map_eval.o detector_map.o
