/* ALI-G on the GPU (see alig_cuda.h). Fork-independent: device pointers in,
 * alig_state bookkeeping out. The formulas are those of alig.c, written in
 * the same order so that float rounding differs only by fused multiply-adds
 * and summation order. */
#include "cuda_runtime.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

extern "C" {
#include "alig_cuda.h"
}

#define ALIG_TILE 4096          /* parameters per block of the passes */
#define ALIG_THREADS 256
#define ALIG_REDUCE_THREADS 1024

typedef struct {
    float *param, *grad, *vel;
    float lr_scale;
    int decayed;
} dev_array;

typedef struct {
    size_t offset;              /* within the array */
    int array;
    int len;
} dev_tile;

typedef struct {
    double grad_sq;             /* ||g||^2 */
    double decayed_sq;          /* ||w||^2 over decayed arrays (decay > 0) */
    double loss;                /* regularised mean loss */
    double unclipped;           /* L / (||g||^2 + eps) */
    double param_sq;            /* ||theta||^2 after the update (projection only) */
    float factor;               /* projection factor (1: none) */
    int skipped;
} dev_scalars;

struct alig_cuda {
    alig_config cfg;
    int n_arrays, n_tiles;
    size_t total, decayed_total;
    size_t *sizes, *offsets;    /* host: array sizes, offsets in the momentum buffer */
    dev_array *arrays_d;
    dev_tile *tiles_d;
    double *partial_a, *partial_b;
    dev_scalars *scalars_d;
    float *velocity;            /* one float per parameter, momentum > 0 only */
};

static int cuda_ok(cudaError_t e, const char *what)
{
    if(e == cudaSuccess) return 1;
    fprintf(stderr, "ALI-G (CUDA): %s: %s\n", what, cudaGetErrorString(e));
    return 0;
}

static void cuda_check_fatal(cudaError_t e, const char *what)
{
    if(!cuda_ok(e, what)) exit(1);
}

/* Same test as alig.c's finite_bits (exponent bits, immune to fast-math). */
__device__ static int finite_bits_d(double x)
{
    unsigned long long u = (unsigned long long)__double_as_longlong(x);
    return ((u >> 52) & 0x7ff) != 0x7ff;
}

/* Sum over the block; the result is valid in thread 0. All threads of the
 * block must call it. */
__device__ static double block_sum(double v, double *shared32)
{
    int o;
    __syncthreads();
    for(o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
    if(lane == 0) shared32[w] = v;
    __syncthreads();
    v = 0;
    if(w == 0){
        int nw = (blockDim.x + 31) >> 5;
        v = lane < nw ? shared32[lane] : 0;
        for(o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    }
    return v;
}

/* Pass 1: per tile, sum g^2 and (decayed arrays, decay > 0) w^2. */
__global__ void alig_norm_kernel(const dev_array *arrays, const dev_tile *tiles, float inv_b, float decay,
        double *partial_g, double *partial_w)
{
    __shared__ double sh[32];
    const dev_tile t = tiles[blockIdx.x];
    const dev_array a = arrays[t.array];
    const float *__restrict__ g = a.grad + t.offset;
    float part = 0, wpart = 0;
    int j;
    if(a.decayed && decay > 0){
        const float *__restrict__ p = a.param + t.offset;
#pragma unroll 4
        for(j = threadIdx.x; j < t.len; j += blockDim.x){
            float pj = p[j];
            float gj = -g[j] * inv_b + decay * pj;
            part += gj * gj;
            wpart += pj * pj;
        }
    } else {
#pragma unroll 4
        for(j = threadIdx.x; j < t.len; j += blockDim.x){
            float gj = g[j] * inv_b;
            part += gj * gj;
        }
    }
    double s = block_sum(part, sh);
    double w = block_sum(wpart, sh);
    if(threadIdx.x == 0){
        partial_g[blockIdx.x] = s;
        partial_w[blockIdx.x] = w;
    }
}

/* Pass 2 (one block): totals, loss, finite check, the unclipped step. */
__global__ void alig_step_kernel(const double *partial_g, const double *partial_w, int n_tiles,
        double loss_sum, int batch, float decay, float eps, dev_scalars *sc)
{
    __shared__ double sh[32];
    double g = 0, w = 0;
    int i;
    for(i = threadIdx.x; i < n_tiles; i += blockDim.x){
        g += partial_g[i];
        w += partial_w[i];
    }
    g = block_sum(g, sh);
    w = block_sum(w, sh);
    if(threadIdx.x == 0){
        double loss = loss_sum / batch + 0.5 * decay * w;
        int skip = !finite_bits_d(loss) || !finite_bits_d(g);
        sc->grad_sq = g;
        sc->decayed_sq = w;
        sc->loss = loss;
        sc->skipped = skip;
        /* ALI-G assumes a non-negative loss (as alig.c). */
        sc->unclipped = skip ? 0 : (loss > 0 ? loss : 0) / (g + eps);
        sc->param_sq = 0;
        sc->factor = 1;
    }
}

/* Pass 3: the update; zeroes the accumulators. With `project`, per-tile sums
 * of the new parameters' squares. A skipped step only zeroes. */
__global__ void alig_update_kernel(const dev_array *arrays, const dev_tile *tiles, float inv_b, float decay,
        float mu, int adjusted, float max_lr, const dev_scalars *sc, int project, double *partial_p)
{
    __shared__ double sh[32];
    const dev_tile t = tiles[blockIdx.x];
    const dev_array a = arrays[t.array];
    /* The three arrays never overlap: restrict lets the compiler keep
     * several iterations' loads in flight. */
    float *__restrict__ p = a.param + t.offset;
    float *__restrict__ acc = a.grad + t.offset;
    float *__restrict__ v = a.vel ? a.vel + t.offset : 0;
    int j;
    if(sc->skipped){
        for(j = threadIdx.x; j < t.len; j += blockDim.x) acc[j] = 0;
        if(project && threadIdx.x == 0) partial_p[blockIdx.x] = 0;
        return;
    }
    const double unclipped = sc->unclipped;
    const float cap = max_lr * a.lr_scale;
    const float step = (float)(unclipped < cap ? unclipped : cap);
    const float wd = (a.decayed && decay > 0) ? decay : 0;
    float part = 0;
    if(!v){
#pragma unroll 4
        for(j = threadIdx.x; j < t.len; j += blockDim.x){
            float pj = p[j];
            float g = -acc[j] * inv_b + wd * pj;
            pj -= step * g;
            p[j] = pj;
            acc[j] = 0;
            part += pj * pj;
        }
    } else if(!adjusted){
        /* nesterov: p <- p - s g ; v <- mu v - s g ; p <- p + mu v */
#pragma unroll 4
        for(j = threadIdx.x; j < t.len; j += blockDim.x){
            float pj = p[j];
            float g = -acc[j] * inv_b + wd * pj;
            float vj = mu * v[j] - step * g;
            v[j] = vj;
            pj += mu * vj - step * g;
            p[j] = pj;
            acc[j] = 0;
            part += pj * pj;
        }
    } else {
        /* adjusted: p <- p - s g ; v <- mu v - g ; p <- p + s mu v */
#pragma unroll 4
        for(j = threadIdx.x; j < t.len; j += blockDim.x){
            float pj = p[j];
            float g = -acc[j] * inv_b + wd * pj;
            float vj = mu * v[j] - g;
            v[j] = vj;
            pj += step * (mu * vj - g);
            p[j] = pj;
            acc[j] = 0;
            part += pj * pj;
        }
    }
    if(project){
        double s = block_sum(part, sh);
        if(threadIdx.x == 0) partial_p[blockIdx.x] = s;
    }
}

/* Pass 4 (one block): the projection factor. */
__global__ void alig_project_kernel(const double *partial_p, int n_tiles, float max_norm, dev_scalars *sc)
{
    __shared__ double sh[32];
    double s = 0;
    int i;
    for(i = threadIdx.x; i < n_tiles; i += blockDim.x) s += partial_p[i];
    s = block_sum(s, sh);
    if(threadIdx.x == 0 && !sc->skipped){
        double norm = sqrt(s);
        sc->param_sq = s;
        sc->factor = norm > max_norm ? (float)(max_norm / norm) : 1.f;
    }
}

/* Pass 5: theta <- theta * factor (a no-op block when factor is 1). */
__global__ void alig_scale_kernel(const dev_array *arrays, const dev_tile *tiles, const dev_scalars *sc)
{
    const float f = sc->factor;
    if(f == 1.f) return;
    const dev_tile t = tiles[blockIdx.x];
    float *p = arrays[t.array].param + t.offset;
    int j;
    for(j = threadIdx.x; j < t.len; j += blockDim.x) p[j] *= f;
}

__global__ void alig_param_norm_kernel(const dev_array *arrays, const dev_tile *tiles, double *partial)
{
    __shared__ double sh[32];
    const dev_tile t = tiles[blockIdx.x];
    const float *p = arrays[t.array].param + t.offset;
    float part = 0;
    int j;
    for(j = threadIdx.x; j < t.len; j += blockDim.x) part += p[j] * p[j];
    double s = block_sum(part, sh);
    if(threadIdx.x == 0) partial[blockIdx.x] = s;
}

extern "C" void alig_cuda_free(alig_cuda *c)
{
    if(!c) return;
    cudaFree(c->arrays_d);
    cudaFree(c->tiles_d);
    cudaFree(c->partial_a);
    cudaFree(c->partial_b);
    cudaFree(c->scalars_d);
    cudaFree(c->velocity);
    free(c->sizes);
    free(c->offsets);
    free(c);
}

extern "C" alig_cuda *alig_cuda_create(const alig_config *cfg, const alig_cuda_array *arrays, int n_arrays)
{
    alig_cuda *c = (alig_cuda *)calloc(1, sizeof(alig_cuda));
    if(!c){ fprintf(stderr, "ALI-G (CUDA): out of host memory\n"); return 0; }
    c->cfg = *cfg;
    c->n_arrays = n_arrays;
    c->sizes = (size_t *)calloc(n_arrays + 1, sizeof(size_t));
    c->offsets = (size_t *)calloc(n_arrays + 1, sizeof(size_t));
    if(!c->sizes || !c->offsets){ alig_cuda_free(c); fprintf(stderr, "ALI-G (CUDA): out of host memory\n"); return 0; }
    int i;
    size_t n_tiles = 0;
    for(i = 0; i < n_arrays; ++i){
        c->sizes[i] = arrays[i].n;
        c->offsets[i] = c->total;
        c->total += arrays[i].n;
        if(arrays[i].decayed) c->decayed_total += arrays[i].n;
        n_tiles += (arrays[i].n + ALIG_TILE - 1) / ALIG_TILE;
    }
    if(n_tiles > 0x7fffffff){ fprintf(stderr, "ALI-G (CUDA): too many parameters\n"); alig_cuda_free(c); return 0; }
    c->n_tiles = (int)n_tiles;

    dev_array *ha = (dev_array *)calloc(n_arrays + 1, sizeof(dev_array));
    dev_tile *ht = (dev_tile *)calloc(n_tiles + 1, sizeof(dev_tile));
    if(!ha || !ht){ free(ha); free(ht); alig_cuda_free(c); fprintf(stderr, "ALI-G (CUDA): out of host memory\n"); return 0; }
    int ok = 1;
    if(cfg->momentum > 0 && c->total > 0){
        ok = cuda_ok(cudaMalloc((void **)&c->velocity, c->total * sizeof(float)), "momentum buffer")
          && cuda_ok(cudaMemset(c->velocity, 0, c->total * sizeof(float)), "momentum buffer");
    }
    size_t k = 0;
    for(i = 0; i < n_arrays; ++i){
        ha[i].param = arrays[i].param;
        ha[i].grad = arrays[i].grad_sum;
        ha[i].vel = c->velocity ? c->velocity + c->offsets[i] : 0;
        ha[i].lr_scale = arrays[i].lr_scale;
        ha[i].decayed = arrays[i].decayed;
        size_t off;
        for(off = 0; off < arrays[i].n; off += ALIG_TILE){
            ht[k].array = i;
            ht[k].offset = off;
            ht[k].len = (int)(arrays[i].n - off < ALIG_TILE ? arrays[i].n - off : ALIG_TILE);
            ++k;
        }
    }
    ok = ok && cuda_ok(cudaMalloc((void **)&c->arrays_d, (n_arrays + 1) * sizeof(dev_array)), "array table")
            && cuda_ok(cudaMalloc((void **)&c->tiles_d, (n_tiles + 1) * sizeof(dev_tile)), "tile table")
            && cuda_ok(cudaMalloc((void **)&c->partial_a, (n_tiles + 1) * sizeof(double)), "partial sums")
            && cuda_ok(cudaMalloc((void **)&c->partial_b, (n_tiles + 1) * sizeof(double)), "partial sums")
            && cuda_ok(cudaMalloc((void **)&c->scalars_d, sizeof(dev_scalars)), "scalars")
            && cuda_ok(cudaMemcpy(c->arrays_d, ha, (n_arrays + 1) * sizeof(dev_array), cudaMemcpyHostToDevice), "array table")
            && cuda_ok(cudaMemcpy(c->tiles_d, ht, (n_tiles + 1) * sizeof(dev_tile), cudaMemcpyHostToDevice), "tile table")
            && cuda_ok(cudaMemset(c->scalars_d, 0, sizeof(dev_scalars)), "scalars");
    free(ha);
    free(ht);
    if(!ok){ alig_cuda_free(c); return 0; }
    return c;
}

extern "C" alig_result alig_cuda_step(alig_state *s, alig_cuda *c, int batch, float max_lr)
{
    alig_result r;
    memset(&r, 0, sizeof(r));
    const alig_config *cfg = &s->cfg;
    const float inv_b = 1.f / batch;
    const double loss_sum = s->loss_sum;
    const int project = cfg->max_norm > 0;
    s->loss_sum = 0;

    if(c->n_tiles > 0){
        alig_norm_kernel<<<c->n_tiles, ALIG_THREADS>>>(c->arrays_d, c->tiles_d, inv_b, cfg->decay, c->partial_a, c->partial_b);
    }
    alig_step_kernel<<<1, ALIG_REDUCE_THREADS>>>(c->partial_a, c->partial_b, c->n_tiles, loss_sum, batch,
            cfg->decay, cfg->eps, c->scalars_d);
    if(c->n_tiles > 0){
        alig_update_kernel<<<c->n_tiles, ALIG_THREADS>>>(c->arrays_d, c->tiles_d, inv_b, cfg->decay,
                cfg->momentum > 0 ? cfg->momentum : 0, cfg->form == ALIG_ADJUSTED, max_lr, c->scalars_d,
                project, c->partial_a);
    }
    if(project){
        alig_project_kernel<<<1, ALIG_REDUCE_THREADS>>>(c->partial_a, c->n_tiles, cfg->max_norm, c->scalars_d);
        if(c->n_tiles > 0) alig_scale_kernel<<<c->n_tiles, ALIG_THREADS>>>(c->arrays_d, c->tiles_d, c->scalars_d);
    }
    cuda_check_fatal(cudaGetLastError(), "launching the step");
    dev_scalars h;
    cuda_check_fatal(cudaMemcpy(&h, c->scalars_d, sizeof(h), cudaMemcpyDeviceToHost), "reading the step");

    r.loss = (float)h.loss;
    r.grad_sq = h.grad_sq;
    if(h.skipped){
        r.skipped = 1;
        s->skipped_total++;
        s->skipped_in_row++;
        s->last = r;
        return r;
    }
    r.unclipped = (float)h.unclipped;
    r.step = (float)(h.unclipped < max_lr ? h.unclipped : max_lr);
    s->steps_taken++;
    s->skipped_in_row = 0;
    s->last = r;
    return r;
}

extern "C" double alig_cuda_param_sq_norm(alig_cuda *c)
{
    if(c->n_tiles == 0) return 0;
    double *h = (double *)malloc(c->n_tiles * sizeof(double));
    if(!h) return NAN;
    alig_param_norm_kernel<<<c->n_tiles, ALIG_THREADS>>>(c->arrays_d, c->tiles_d, c->partial_b);
    cuda_check_fatal(cudaGetLastError(), "parameter norm");
    cuda_check_fatal(cudaMemcpy(h, c->partial_b, c->n_tiles * sizeof(double), cudaMemcpyDeviceToHost), "parameter norm");
    double total = 0;
    int i;
    for(i = 0; i < c->n_tiles; ++i) total += h[i];
    free(h);
    return total;
}

static int velocity_matches(const alig_cuda *c, const alig_state *s)
{
    int i;
    if(!c->velocity || s->n_arrays != c->n_arrays) return 0;
    for(i = 0; i < c->n_arrays; ++i){
        if(s->arrays[i].n != c->sizes[i] || !s->arrays[i].velocity) return 0;
    }
    return 1;
}

extern "C" int alig_cuda_velocity_to_host(alig_cuda *c, alig_state *s)
{
    int i;
    if(!velocity_matches(c, s)) return 0;
    for(i = 0; i < c->n_arrays; ++i){
        if(!cuda_ok(cudaMemcpy(s->arrays[i].velocity, c->velocity + c->offsets[i], c->sizes[i] * sizeof(float),
                        cudaMemcpyDeviceToHost), "reading the momentum")) return 0;
    }
    return 1;
}

extern "C" int alig_cuda_velocity_from_host(alig_cuda *c, const alig_state *s)
{
    int i;
    if(!velocity_matches(c, s)) return 0;
    for(i = 0; i < c->n_arrays; ++i){
        if(!cuda_ok(cudaMemcpy(c->velocity + c->offsets[i], s->arrays[i].velocity, c->sizes[i] * sizeof(float),
                        cudaMemcpyHostToDevice), "writing the momentum")) return 0;
    }
    return 1;
}

extern "C" size_t alig_cuda_parameters(const alig_cuda *c)
{
    return c->total;
}

extern "C" double alig_cuda_step_bytes(const alig_cuda *c, int projected)
{
    double n = (double)c->total, f = sizeof(float);
    /* pass 1: read g (and w where decayed, decay > 0) */
    double bytes = f * n + (c->cfg.decay > 0 ? f * (double)c->decayed_total : 0);
    /* pass 3: read p, g (and v); write p, g (and v) */
    bytes += (c->velocity ? 6 : 4) * f * n;
    /* pass 5: read and write p */
    if(projected) bytes += 2 * f * n;
    return bytes;
}
