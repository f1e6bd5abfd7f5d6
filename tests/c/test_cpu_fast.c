/* The faster CPU loops (src/cpu_fast.c) give exactly what upstream's loops
 * give: checked against straightforward reimplementations of upstream's
 * im2col/col2im/max pooling/activations on fresh random inputs and shapes. */
#include "cpu_fast.h"
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures;

static float rnd(void) { return (float)rand() / RAND_MAX * 2 - 1; }

static float pixel(const float *im, int h, int w, int row, int col, int c, int pad)
{
    row -= pad; col -= pad;
    if(row < 0 || col < 0 || row >= h || col >= w) return 0;
    return im[col + w * (row + h * c)];
}

static void check(int ok, const char *what, int a, int b, int c, int d, int e)
{
    printf("%s %s (c=%d h=%d w=%d k=%d s=%d)\n", ok ? "ok" : "FAIL", what, a, b, c, d, e);
    if(!ok) failures++;
}

static void test_im2col(int C, int H, int W, int k, int s, int pad)
{
    int oh = (H + 2*pad - k) / s + 1, ow = (W + 2*pad - k) / s + 1;
    size_t ncol = (size_t)C * k * k * oh * ow;
    float *im = malloc(sizeof(float) * C * H * W), *a = malloc(sizeof(float) * ncol), *b = malloc(sizeof(float) * ncol);
    int i, c, y, x;
    for(i = 0; i < C * H * W; ++i) im[i] = rnd();
    for(c = 0; c < C * k * k; ++c){
        int kx = c % k, ky = (c / k) % k, ci = c / k / k;
        for(y = 0; y < oh; ++y) for(x = 0; x < ow; ++x)
            a[((size_t)c * oh + y) * ow + x] = pixel(im, H, W, ky + y * s, kx + x * s, ci, pad);
    }
    memset(b, 0x7f, sizeof(float) * ncol);
    im2col_fast(im, C, H, W, k, s, pad, b);
    check(memcmp(a, b, sizeof(float) * ncol) == 0, "im2col_fast == upstream im2col", C, H, W, k, s);

    /* col2im: add columns back; same order of additions as upstream */
    float *r1 = calloc(C * H * W, sizeof(float)), *r2 = calloc(C * H * W, sizeof(float));
    for(c = 0; c < C * k * k; ++c){
        int kx = c % k, ky = (c / k) % k, ci = c / k / k;
        for(y = 0; y < oh; ++y) for(x = 0; x < ow; ++x){
            int row = ky + y * s - pad, col = kx + x * s - pad;
            if(row < 0 || col < 0 || row >= H || col >= W) continue;
            r1[col + W * (row + H * ci)] += a[((size_t)c * oh + y) * ow + x];
        }
    }
    col2im_fast(a, C, H, W, k, s, pad, r2);
    check(memcmp(r1, r2, sizeof(float) * C * H * W) == 0, "col2im_fast == upstream col2im", C, H, W, k, s);
    free(im); free(a); free(b); free(r1); free(r2);
}

static void test_maxpool(int batch, int C, int H, int W)
{
    layer l = {0};
    l.batch = batch; l.c = C; l.h = H; l.w = W; l.size = 2; l.stride = 2; l.pad = 1;
    l.out_h = (H + l.pad - l.size) / l.stride + 1;
    l.out_w = (W + l.pad - l.size) / l.stride + 1;
    int n_in = batch * C * H * W, n_out = batch * C * l.out_h * l.out_w, i, b, k, y, x, m, n;
    float *in = malloc(sizeof(float) * n_in), *ref = malloc(sizeof(float) * n_out);
    int *ref_idx = malloc(sizeof(int) * n_out);
    l.output = malloc(sizeof(float) * n_out);
    l.indexes = malloc(sizeof(int) * n_out);
    /* coarse values so that ties happen and the tie-break is checked */
    for(i = 0; i < n_in; ++i) in[i] = (float)(rand() % 5);
    for(b = 0; b < batch; ++b) for(k = 0; k < C; ++k) for(y = 0; y < l.out_h; ++y) for(x = 0; x < l.out_w; ++x){
        float best = -FLT_MAX; int at = -1;
        for(n = 0; n < 2; ++n) for(m = 0; m < 2; ++m){
            int r = y * 2 + n, c = x * 2 + m;
            int idx = c + W * (r + H * (k + b * C));
            float v = (r < H && c < W) ? in[idx] : -FLT_MAX;
            at = v > best ? idx : at; best = v > best ? v : best;
        }
        int o = x + l.out_w * (y + l.out_h * (k + C * b));
        ref[o] = best; ref_idx[o] = at;
    }
    int handled = maxpool_forward_fast(&l, in);
    if(2 * l.out_h > H || 2 * l.out_w > W){
        check(!handled, "maxpool_forward_fast leaves partial windows to upstream", C, H, W, 2, 2);
    } else {
        check(handled && !memcmp(ref, l.output, sizeof(float) * n_out) && !memcmp(ref_idx, l.indexes, sizeof(int) * n_out),
              "maxpool_forward_fast == upstream (values and indexes, ties)", C, H, W, 2, 2);
    }
    free(in); free(ref); free(ref_idx); free(l.output); free(l.indexes);
}

static void test_activations(int n)
{
    float *x = malloc(sizeof(float) * n), *a = malloc(sizeof(float) * n), *d1 = malloc(sizeof(float) * n), *d2 = malloc(sizeof(float) * n);
    int i, ok;
    for(i = 0; i < n; ++i) x[i] = rnd() * 10;
    ACTIVATION acts[] = {LEAKY, RELU, LINEAR};
    int t;
    for(t = 0; t < 3; ++t){
        memcpy(a, x, sizeof(float) * n);
        activate_array_fast(a, n, acts[t]);
        ok = 1;
        for(i = 0; i < n; ++i){
            float want = acts[t] == LEAKY ? ((x[i] > 0) ? x[i] : .1 * x[i]) : acts[t] == RELU ? x[i] * (x[i] > 0) : x[i];
            if(a[i] != want) ok = 0;
            d1[i] = rnd();
            d2[i] = d1[i] * (acts[t] == LEAKY ? ((x[i] > 0) ? 1 : .1f) : acts[t] == RELU ? (x[i] > 0) : 1);
        }
        gradient_array_fast(x, n, acts[t], d1);
        /* == rather than memcmp: -Ofast may turn x*0 into +0 instead of -0 */
        for(i = 0; i < n; ++i) if(d1[i] != d2[i]) ok = 0;
        check(ok, "activation and gradient == upstream formula", acts[t], n, 0, 0, 0);
    }
    check(!activate_array_fast(a, n, LOGISTIC), "other activations left to upstream", 0, 0, 0, 0, 0);
    free(x); free(a); free(d1); free(d2);
}

int main(void)
{
    unsigned seed = getenv("TEST_SEED") ? (unsigned)atoi(getenv("TEST_SEED")) : (unsigned)(time(0) ^ getpid());
    printf("seed %u\n", seed);
    srand(seed);
    int i;
    for(i = 0; i < 12; ++i){
        int k = 1 + rand() % 4, s = 1 + rand() % 2, pad = rand() % (k + 1);
        int H = k + rand() % 9, W = k + rand() % 9;
        test_im2col(1 + rand() % 4, H, W, k, s, pad);
    }
    test_im2col(3, 28, 28, 3, 1, 1);
    for(i = 0; i < 6; ++i) test_maxpool(1 + rand() % 3, 1 + rand() % 4, 2 + rand() % 9, 2 + rand() % 9);
    test_maxpool(2, 3, 28, 28);
    test_activations(1000 + rand() % 100);
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
