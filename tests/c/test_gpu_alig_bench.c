/* GPU benchmark of the ALI-G update (policy=alig, src/alig_cuda.cu) on a
 * network of ~32M parameters (batch-norm convolutions + connected):
 *   - its time per update against upstream's steps update (update_network_gpu,
 *     SGD with momentum and decay) on the same network: target <= 1.1x;
 *   - the bytes the update must move through device memory (reads + writes:
 *     ||g||^2 pass, update pass with momentum; see alig_cuda_step_bytes) per
 *     second, against a device-to-device copy (2 x 4 bytes per float) of the
 *     same size measured in the same run: target >= 60%.
 * Also printed (not checked): the same with the projection acting on every
 * step (one more read+write pass of the parameters).
 * Without a GPU: "skipped: no GPU" (exit 77). See test_gpu_driver.h. */
#ifndef GPU
#include "test_gpu_driver.h"
TG_MAIN("test_gpu_alig_bench", "tests/c/test_gpu_alig_bench.c")
#else

#include "testutil.h"
#include "alig.h"
#include "alig_darknet.h"
#include "alig_cuda_darknet.h"
#include "cuda.h"

#define WARMUP 3
#define ITERS 20

static const char *layers_cfg =
    "[convolutional]\nbatch_normalize=1\nfilters=1024\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=1024\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=1024\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=1024\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[avgpool]\n\n"
    "[connected]\noutput=1000\nactivation=linear\n\n"
    "[softmax]\n";

static network *make_net(const char *policy_lines)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "[net]\nbatch=1\nsubdivisions=1\nheight=8\nwidth=8\nchannels=256\n"
             "momentum=0.9\ndecay=0.0005\nbn_recalibrate=0\n%s\n\n%s", policy_lines, layers_cfg);
    return tu_parse_cfg(buf);
}

static double now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec + 1e-6 * tv.tv_usec;
}

static double time_alig(network *net)
{
    int i;
    double t0 = 0;
    for(i = 0; i < WARMUP + ITERS; ++i){
        if(i == WARMUP){ cudaDeviceSynchronize(); t0 = now(); }
        net->alig->loss_sum = net->batch;      /* loss 1: a finite, taken step */
        alig_darknet_update(net);
    }
    cudaDeviceSynchronize();
    return (now() - t0) / ITERS;
}

static double time_steps(network *net)
{
    int i;
    double t0 = 0;
    for(i = 0; i < WARMUP + ITERS; ++i){
        if(i == WARMUP){ cudaDeviceSynchronize(); t0 = now(); }
        update_network(net);
    }
    cudaDeviceSynchronize();
    return (now() - t0) / ITERS;
}

static double time_copy(size_t n)
{
    float *a = 0, *b = 0;
    if(cudaMalloc((void **)&a, n * sizeof(float)) != cudaSuccess || cudaMalloc((void **)&b, n * sizeof(float)) != cudaSuccess){
        cudaFree(a);
        return 0;
    }
    cudaMemset(a, 0, n * sizeof(float));
    int i;
    double t0 = 0;
    for(i = 0; i < WARMUP + ITERS; ++i){
        if(i == WARMUP){ cudaDeviceSynchronize(); t0 = now(); }
        cudaMemcpy(b, a, n * sizeof(float), cudaMemcpyDeviceToDevice);
    }
    cudaDeviceSynchronize();
    double t = (now() - t0) / ITERS;
    cudaFree(a);
    cudaFree(b);
    return t;
}

/* Bytes one ALI-G update moves (as alig_cuda_step_bytes): g read for the
 * norm (+ w on decayed arrays when decay > 0); p, g, v read and written. */
static double alig_bytes(const alig_state *s, int projected)
{
    double n = 0, nd = 0;
    int i;
    for(i = 0; i < s->n_arrays; ++i){
        n += s->arrays[i].n;
        if(s->arrays[i].decayed) nd += s->arrays[i].n;
    }
    double b = 4 * n + (s->cfg.decay > 0 ? 4 * nd : 0) + (s->cfg.momentum > 0 ? 24 : 16) * n;
    if(projected) b += 8 * n;
    return b;
}

int main(void)
{
    tu_init("test_gpu_alig_bench");
    int count = 0;
    if(cudaGetDeviceCount(&count) != cudaSuccess || count < 1){
        printf("test_gpu_alig_bench: skipped: no GPU (CUDA sees none)\n");
        return 77;
    }
    cuda_set_device(0);
    gpu_index = 0;
    struct cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, 0);
    printf("device: %s\n", prop.name);

    network *alig = make_net("policy=alig\nlearning_rate=0.1");
    network *steps = make_net("policy=steps\nlearning_rate=0.01\nsteps=100000\nscales=.1");
    size_t n = 0;
    int i;
    for(i = 0; i < alig->alig->n_arrays; ++i) n += alig->alig->arrays[i].n;
    printf("%zu parameters in %d arrays\n", n, alig->alig->n_arrays);

    double t_copy = time_copy(n);
    double t_steps = time_steps(steps);
    double t_alig = time_alig(alig);
    double copy_bw = 8.0 * n / t_copy;
    double alig_bw = alig_bytes(alig->alig, 0) / t_alig;
    printf("device-to-device copy of %zu floats: %.3f ms, %.1f GB/s (read + write)\n", n, 1e3 * t_copy, copy_bw / 1e9);
    printf("steps update (upstream, momentum + decay): %.3f ms\n", 1e3 * t_steps);
    printf("ALI-G update (momentum 0.9, decay): %.3f ms = %.2fx steps; %.0f MB moved, %.1f GB/s = %.0f%% of the copy\n",
           1e3 * t_alig, t_alig / t_steps, alig_bytes(alig->alig, 0) / 1e6, alig_bw / 1e9, 100 * alig_bw / copy_bw);
    tu_check("ALI-G update time / steps update time - 1.1 (<= 0)", t_alig / t_steps - 1.1, 0);
    tu_check("0.6 - ALI-G bandwidth / copy bandwidth (<= 0)", 0.6 - alig_bw / copy_bw, 0);

    /* projection on every step (radius far below the weights' norm) */
    alig->alig->cfg.max_norm = 1e-3f;
    double t_proj = time_alig(alig);
    double proj_bw = alig_bytes(alig->alig, 1) / t_proj;
    printf("ALI-G update with projection: %.3f ms = %.2fx steps; %.1f GB/s = %.0f%% of the copy (not checked)\n",
           1e3 * t_proj, t_proj / t_steps, proj_bw / 1e9, 100 * proj_bw / copy_bw);
    return tu_finish();
}
#endif
