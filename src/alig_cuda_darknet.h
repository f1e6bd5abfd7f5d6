#ifndef ALIG_CUDA_DARKNET_H
#define ALIG_CUDA_DARKNET_H
/* pjreddie/darknet adapter, GPU part (defined in alig_darknet.c, GPU builds
 * only). With policy=alig and a GPU network, alig_darknet_attach also builds
 * the device state (src/alig_cuda.cu) and alig_darknet_update steps on the
 * device. The momentum lives on the device; the host state's velocity arrays
 * (net->alig->arrays[i].velocity) are a mirror, filled on demand: */
#include "darknet.h"

#ifdef GPU
/* Non-zero when net->alig steps on the device. */
int alig_darknet_on_gpu(network *net);
/* Device momentum -> host mirror (call before writing the optimizer state).
 * Returns 1 when copied, 0 when not on the GPU or without momentum. */
int alig_darknet_gpu_velocity_to_host(network *net);
/* Host mirror -> device momentum (call after reading the optimizer state). */
int alig_darknet_gpu_velocity_to_device(network *net);
#endif

#endif
