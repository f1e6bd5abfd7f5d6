#ifndef ALIG_CUDA_H
#define ALIG_CUDA_H
/* ALI-G on the GPU: the same step as alig.c (see its header and
 * docs/alig-in-darknet.md), on arrays that live in device memory. Like the
 * core, this knows nothing of any Darknet fork: the adapter hands it device
 * pointers (parameter, gradient accumulator) in the same order as the host
 * arrays it gave alig_set_arrays.
 *
 * Per step, all on the default stream, no host synchronisation until the end:
 *   1. one pass over every array: per-tile partial sums of ||g||^2 (and of
 *      ||w||^2 on decayed arrays when decay > 0), in double;
 *   2. one single-block kernel: the totals, the loss, the finite check and the
 *      step, written to a few bytes of device memory;
 *   3. one pass: the update (and the zeroing of the accumulators); with a
 *      projection radius it also sums ||theta||^2 of the new parameters;
 *   4. with a projection radius: the factor (single block) and the scaling;
 *   5. one device-to-host copy of the step's scalars (32 bytes) for the log,
 *      the non-finite counters and alig_state.last.
 * Memory: one float per parameter for the momentum (momentum > 0 only), plus
 * a table of the arrays and per-tile partial sums (a few bytes per 4096
 * parameters). */
#include <stddef.h>
#include "alig.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    float *param;        /* device */
    float *grad_sum;     /* device: SUM over samples of -dloss/dparam */
    size_t n;
    float lr_scale;
    int decayed;
} alig_cuda_array;

typedef struct alig_cuda alig_cuda;

/* Allocates the device state (momentum buffer zeroed when cfg->momentum > 0).
 * Returns NULL, with a message on stderr, when CUDA fails. */
alig_cuda *alig_cuda_create(const alig_config *cfg, const alig_cuda_array *arrays, int n_arrays);
void alig_cuda_free(alig_cuda *c);

/* One step over `batch` samples, maximal step `max_lr`: same semantics and
 * bookkeeping as alig_step(s, batch, max_lr) (s->loss_sum is used and reset,
 * s->last, s->steps_taken and the skip counters are updated), but on the
 * device arrays of `c`. s->arrays is not touched. */
alig_result alig_cuda_step(alig_state *s, alig_cuda *c, int batch, float max_lr);

/* Squared L2 norm of all device parameters (double accumulation). */
double alig_cuda_param_sq_norm(alig_cuda *c);

/* Momentum buffers between device and the host mirrors s->arrays[i].velocity
 * (for saving / restoring the optimizer state). Return 1 on success, 0 when
 * the arrays do not match or there is no momentum. */
int alig_cuda_velocity_to_host(alig_cuda *c, alig_state *s);
int alig_cuda_velocity_from_host(alig_cuda *c, const alig_state *s);

/* Parameters handled, and the bytes one step must move through device memory
 * (reads + writes; `projected`: the projection scaled the parameters). */
size_t alig_cuda_parameters(const alig_cuda *c);
double alig_cuda_step_bytes(const alig_cuda *c, int projected);

#ifdef __cplusplus
}
#endif
#endif
