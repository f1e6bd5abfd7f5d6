/* Times one cfg's training iteration and its update step alone, on fixed
 * random data, and reports peak resident memory. Used by scripts/bench to
 * compare policies side by side. Usage: bench_update CFG ITERS
 * Prints: iteration_ms=<median> update_ms=<median> params=<n> peak_kb=<VmHWM> */
#include "darknet.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static double now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, 0);
    return tv.tv_sec * 1e3 + tv.tv_usec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static long peak_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while(f && fgets(line, sizeof(line), f)) if(!strncmp(line, "VmHWM:", 6)) kb = atol(line + 6);
    if(f) fclose(f);
    return kb;
}

int main(int argc, char **argv)
{
    if(argc != 3){ fprintf(stderr, "usage: %s CFG ITERS\n", argv[0]); return 2; }
    extern void gemm_blas_setup(int, char **);
    gemm_blas_setup(argc, argv);   /* as darknet's main: the right OpenBLAS kernels */
    int iters = atoi(argv[2]), i, j;
    srand(1);
    network *net = parse_network_cfg(argv[1]);
    for(i = 0; i < net->batch * net->inputs; ++i) net->input[i] = (float)rand() / RAND_MAX;
    for(i = 0; i < net->batch; ++i){
        for(j = 0; j < net->outputs; ++j) net->truth[i * net->outputs + j] = 0;
        net->truth[i * net->outputs + i % net->outputs] = 1;
    }
    double *it = calloc(iters, sizeof(double)), *up = calloc(iters, sizeof(double));
    net->subdivisions = 1;
    for(i = 0; i < 3; ++i) train_network_datum(net);   /* warm-up */
    for(i = 0; i < iters; ++i){
        double t0 = now_ms();
        *net->seen += net->batch;
        net->train = 1;
        forward_network(net);
        backward_network(net);
        if(net->policy == ALIG){   /* the loss hook train_network_datum calls */
            extern void alig_darknet_add_loss(network *);
            alig_darknet_add_loss(net);
        }
        double t1 = now_ms();
        update_network(net);
        double t2 = now_ms();
        it[i] = t2 - t0;
        up[i] = t2 - t1;
    }
    qsort(it, iters, sizeof(double), cmp);
    qsort(up, iters, sizeof(double), cmp);
    size_t params = 0;
    for(i = 0; i < net->n; ++i){
        layer l = net->layers[i];
        if(l.type == CONVOLUTIONAL) params += l.nweights + l.n * (l.batch_normalize ? 2 : 1);
        if(l.type == CONNECTED) params += (size_t)l.inputs * l.outputs + l.outputs * (l.batch_normalize ? 2 : 1);
    }
    printf("iteration_ms=%.3f update_ms=%.4f params=%zu peak_kb=%ld\n", it[iters / 2], up[iters / 2], params, peak_kb());
    return 0;
}
