#ifndef CPU_FAST_H
#define CPU_FAST_H
/* Faster CPU versions of upstream loops that dominated training time once
 * gemm ran on a BLAS (perf, Fashion-MNIST net, batch 128). Each gives the
 * same result as the upstream loop it replaces. */
#include "darknet.h"

/* Same layout as upstream's im2col_cpu: one row per (channel, ky, kx). */
void im2col_fast(const float *im, int channels, int height, int width,
                 int ksize, int stride, int pad, float *col);
/* Same as upstream's col2im_cpu: adds the columns back into the image. */
void col2im_fast(const float *col, int channels, int height, int width,
                 int ksize, int stride, int pad, float *im);

/* Return 1 when they handled the activation, 0 to leave it to upstream. */
int activate_array_fast(float *x, int n, ACTIVATION a);
int gradient_array_fast(const float *x, int n, ACTIVATION a, float *delta);

/* 2x2 stride-2 max pooling with every window inside the input (the common
 * case); returns 0 to leave other shapes to upstream. Ties go to the first
 * maximum in scan order, as upstream. */
int maxpool_forward_fast(const layer *l, const float *input);

#endif
