/* Resume (patch 0208): N steps, save, load into a fresh network, N more
 * steps gives bit for bit the weights of 2N steps in one run, with ALI-G
 * momentum; the sidecar "<weights>.alig" carries the momentum buffers.
 * Without the sidecar the resumed run differs (so the test can fail), and a
 * sidecar that does not match is ignored with a message. CPU, fixed data. */
#include "darknet.h"
#include "alig.h"
#include "alig_resume.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *CFG =
    "[net]\nbatch=8\nsubdivisions=2\nheight=6\nwidth=6\nchannels=1\n"
    "policy=alig\nlearning_rate=0.2\nmomentum=0.9\nbn_recalibrate=0\nmax_batches=100\n"
    "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "[connected]\noutput=5\nactivation=linear\n[softmax]\n";

static int failures = 0;
static void check(int ok, const char *what)
{
    printf("%s - %s\n", ok ? "ok" : "FAIL", what);
    if(!ok) ++failures;
}

/* The data of step s depends only on s. */
static void train_steps(network *net, int from, int to)
{
    int rows = net->batch * net->subdivisions, s, i, j;
    data d = {0};
    d.X = make_matrix(rows, net->inputs);
    d.y = make_matrix(rows, net->outputs);
    for(s = from; s < to; ++s){
        unsigned long long st = 1000003ULL * (s + 1);
        for(i = 0; i < rows; ++i){
            for(j = 0; j < net->inputs; ++j){
                st = st * 6364136223846793005ULL + 1442695040888963407ULL;
                d.X.vals[i][j] = (float)((st >> 40) / (double)(1ULL << 24));
            }
            for(j = 0; j < net->outputs; ++j) d.y.vals[i][j] = 0;
            d.y.vals[i][(i + s) % net->outputs] = 1;
        }
        train_network(net, d);
    }
    free_data(d);
}

static long file_bytes(const char *path, unsigned char **out)
{
    FILE *fp = fopen(path, "rb");
    if(!fp) return -1;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    rewind(fp);
    *out = malloc(n + 1);
    if(fread(*out, 1, n, fp) != (size_t)n) n = -1;
    fclose(fp);
    return n;
}

static int same_file(const char *a, const char *b)
{
    unsigned char *x = 0, *y = 0;
    long n = file_bytes(a, &x), m = file_bytes(b, &y);
    int same = n > 0 && n == m && memcmp(x, y, n) == 0;
    free(x); free(y);
    return same;
}

int main(void)
{
    char dir[] = "/tmp/robust-resume.XXXXXX";
    if(!mkdtemp(dir)) return 1;
    char cfg[256], a[256], b[256], b2[256], c2[256], side[300];
    snprintf(cfg, sizeof(cfg), "%s/net.cfg", dir);
    snprintf(a, sizeof(a), "%s/a.weights", dir);
    snprintf(b, sizeof(b), "%s/b.weights", dir);
    snprintf(b2, sizeof(b2), "%s/b2.weights", dir);
    snprintf(c2, sizeof(c2), "%s/c2.weights", dir);
    FILE *fp = fopen(cfg, "w"); fputs(CFG, fp); fclose(fp);
    const int N = 6;

    srand(7);
    network *net = parse_network_cfg(cfg);
    train_steps(net, 0, 2 * N);
    save_weights(net, a);
    long steps_a = net->alig->steps_taken;
    free_network(net);

    srand(7);
    net = parse_network_cfg(cfg);
    train_steps(net, 0, N);
    save_weights(net, b);
    free_network(net);
    snprintf(side, sizeof(side), "%s.alig", b);
    check(access(side, F_OK) == 0, "a sidecar b.weights.alig is written beside the weights");

    net = parse_network_cfg(cfg);
    load_weights(net, b);
    check(net->alig->steps_taken == N, "the step count is restored");
    train_steps(net, N, 2 * N);
    save_weights(net, b2);
    check(net->alig->steps_taken == steps_a, "step counts agree");
    free_network(net);
    check(same_file(a, b2), "N steps + save + load + N steps == 2N steps, bit for bit");

    /* -clear (0 images seen): the restored momentum is dropped. */
    net = parse_network_cfg(cfg);
    load_weights(net, b);
    *net->seen = 0;
    alig_resume_forget_if_cleared(net);
    int zero = net->alig->steps_taken == 0, i;
    size_t j;
    for(i = 0; i < net->alig->n_arrays; ++i)
        for(j = 0; j < net->alig->arrays[i].n; ++j) if(net->alig->arrays[i].velocity[j] != 0) zero = 0;
    check(zero, "with -clear (0 images seen) momentum and step count start at 0");
    free_network(net);

    /* Without the sidecar momentum restarts at 0: the result differs. */
    unlink(side);
    net = parse_network_cfg(cfg);
    load_weights(net, b);
    train_steps(net, N, 2 * N);
    save_weights(net, c2);
    free_network(net);
    check(!same_file(a, c2), "without the sidecar the resumed run differs (the test can fail)");

    /* A sidecar of other weights (other images seen) is ignored. */
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "cp %s.alig %s.alig", a, b);
    system(cmd);
    net = parse_network_cfg(cfg);
    load_weights(net, b);
    check(net->alig->steps_taken == 0, "a sidecar that does not belong to the weights is ignored");
    free_network(net);
    /* A truncated sidecar is ignored too. */
    snprintf(cmd, sizeof(cmd), "head -c 40 %s.alig > %s.alig", b2, b);
    system(cmd);
    net = parse_network_cfg(cfg);
    load_weights(net, b);
    check(net->alig->steps_taken == 0, "a truncated sidecar is ignored");
    free_network(net);

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    system(cmd);
    return failures ? 1 : 0;
}
