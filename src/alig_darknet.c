#include "alig_darknet.h"
#include "alig.h"
#include "cfg_check.h"
#include "detection_loss_darknet.h"
#include "network.h"
#ifdef GPU
#include "alig_cuda.h"
#include "alig_cuda_darknet.h"
#include "cuda.h"
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIG_MAX_SKIPS_IN_ROW 100
#define BN_RECALIBRATE_DEFAULT 50

void alig_darknet_parse_options(list *options, network *net)
{
    /* Upstream reads learning_rate with atof: "abc" silently becomes 0. */
    char *lr = option_find(options, "learning_rate");
    float v;
    if(lr && !cfg_parse_float(lr, &v)) cfg_fail("net", "learning_rate", lr, "not a number");

    int is_alig = net->policy == ALIG;
    net->bn_recalibrate = cfg_find_int(options, "net", "bn_recalibrate", is_alig ? BN_RECALIBRATE_DEFAULT : 0);
    if(net->bn_recalibrate < 0){
        cfg_fail("net", "bn_recalibrate", option_find(options, "bn_recalibrate"), "must be >= 0 (0 turns it off)");
    }
    if(!is_alig) return;

    char buf[64];
    alig_config c = {0};
    c.max_lr = net->learning_rate;
    c.momentum = net->momentum;
    c.decay = net->decay;
    c.eps = cfg_find_float(options, "net", "alig_eps", 1e-5f);
    c.max_norm = cfg_find_float(options, "net", "alig_max_norm", 0);
    char *form = option_find(options, "alig_momentum");
    c.form = ALIG_NESTEROV;
    if(form){
        if(strcmp(form, "nesterov") == 0) c.form = ALIG_NESTEROV;
        else if(strcmp(form, "adjusted") == 0) c.form = ALIG_ADJUSTED;
        else cfg_fail("net", "alig_momentum", form, "must be nesterov or adjusted");
    }
    if(!(c.max_lr > 0)){
        snprintf(buf, sizeof(buf), "%g", c.max_lr);
        cfg_fail("net", "learning_rate", lr ? lr : buf, "policy=alig needs learning_rate (the maximal step) > 0");
    }
    if(c.momentum < 0 || c.momentum >= 1){
        snprintf(buf, sizeof(buf), "%g", c.momentum);
        cfg_fail("net", "momentum", option_find(options, "momentum") ? option_find(options, "momentum") : buf, "must be >= 0 and < 1");
    }
    if(c.decay < 0) cfg_fail("net", "decay", option_find(options, "decay"), "must be >= 0");
    if(!(c.eps > 0)) cfg_fail("net", "alig_eps", option_find(options, "alig_eps"), "must be > 0");
    if(c.max_norm < 0) cfg_fail("net", "alig_max_norm", option_find(options, "alig_max_norm"), "must be >= 0 (0 = no projection)");
    net->alig = alig_create(c);
    if(!net->alig){ fprintf(stderr, "ALI-G: out of memory\n"); exit(1); }
}

/* The cfg section name of a layer type (upstream's get_layer_string has no
 * [iseg] and would print "none"). */
static const char *layer_name(LAYER_TYPE t)
{
    return t == ISEG ? "iseg" : get_layer_string(t);
}

const char *alig_darknet_unsupported_loss(const layer *l)
{
    if(l->type == YOLO || l->type == REGION || l->type == DETECTION) return dloss_unsupported(l);
    if(l->type == ISEG) return "its cost is not the loss of its deltas";
    return 0;
}

typedef struct {
    alig_array *a;
    int n, cap;
} array_list;

static void push(array_list *list, float *param, float *grad_sum, size_t n, float lr_scale, int decayed)
{
    if(!param || !grad_sum || n == 0) return;
    if(list->n == list->cap){
        list->cap = list->cap ? 2 * list->cap : 16;
        list->a = realloc(list->a, list->cap * sizeof(alig_array));
        if(!list->a){ fprintf(stderr, "ALI-G: out of memory\n"); exit(1); }
    }
    alig_array x = {param, grad_sum, 0, n, lr_scale, decayed};
    list->a[list->n++] = x;
}

/* Layer types whose CPU training upstream gets wrong, so that ALI-G would
 * train on garbage or crash: refused with the reason (see the README). */
static const char *broken_upstream(LAYER_TYPE t)
{
    switch(t){
        case GRU: return "upstream's CPU backward_gru_layer is empty: its gradients stay 0";
        case LSTM: return "upstream's CPU lstm layer has no delta and no backward";
        case BATCHNORM: return "upstream's standalone [batchnorm] never allocates its training buffers";
        default: return 0;
    }
}

/* Adds a layer's arrays; returns 0 if the layer is trainable but unknown. */
static int collect(array_list *list, const layer *l, float scale)
{
    int i;
    switch(l->type){
        case CONVOLUTIONAL:
        case DECONVOLUTIONAL:
            push(list, l->weights, l->weight_updates, l->nweights, scale, 1);
            push(list, l->biases, l->bias_updates, l->n, scale, 0);
            push(list, l->scales, l->scale_updates, l->n, scale, 0);
            return 1;
        case CONNECTED:
            push(list, l->weights, l->weight_updates, (size_t)l->inputs * l->outputs, scale, 1);
            push(list, l->biases, l->bias_updates, l->outputs, scale, 0);
            if(l->batch_normalize) push(list, l->scales, l->scale_updates, l->outputs, scale, 0);
            return 1;
        case LOCAL:
            push(list, l->weights, l->weight_updates,
                 (size_t)l->size * l->size * l->c * l->n * l->out_w * l->out_h, scale, 1);
            push(list, l->biases, l->bias_updates, l->outputs, scale, 0);
            return 1;
        case BATCHNORM:
            push(list, l->scales, l->scale_updates, l->c, scale, 0);
            push(list, l->biases, l->bias_updates, l->c, scale, 0);
            return 1;
        case RNN:
        case CRNN: {
            const layer *subs[] = {l->input_layer, l->self_layer, l->output_layer};
            for(i = 0; i < 3; ++i) if(subs[i] && !collect(list, subs[i], scale)) return 0;
            return 1;
        }
        case GRU: {
            const layer *subs[] = {l->uz, l->wz, l->ur, l->wr, l->uh, l->wh};
            for(i = 0; i < 6; ++i) if(subs[i] && !collect(list, subs[i], scale)) return 0;
            return 1;
        }
        case LSTM: {
            const layer *subs[] = {l->wf, l->wi, l->wg, l->wo, l->uf, l->ui, l->ug, l->uo};
            for(i = 0; i < 8; ++i) if(subs[i] && !collect(list, subs[i], scale)) return 0;
            return 1;
        }
        case YOLO:
        case REGION:
        case DETECTION:
            /* Anchors (biases) have bias_updates but no update function:
             * upstream keeps them fixed, and so do we. */
            return 1;
        default:
            /* A layer with an update function or parameters of its own that
             * ALI-G does not know: refuse rather than leave it untrained. */
            return !(l->update || l->weight_updates || l->bias_updates);
    }
}

#ifdef GPU
/* ------------------------------------------------------------------ GPU
 * The device twins (*_gpu) of the arrays collect() lists, in the same order,
 * so that array i of the host state and of the device state are the same
 * parameters (the host state keeps the momentum mirror for saving). */
static int collect_gpu(array_list *list, const layer *l, float scale)
{
    int i;
    switch(l->type){
        case CONVOLUTIONAL:
        case DECONVOLUTIONAL:
            push(list, l->weights_gpu, l->weight_updates_gpu, l->nweights, scale, 1);
            push(list, l->biases_gpu, l->bias_updates_gpu, l->n, scale, 0);
            push(list, l->scales_gpu, l->scale_updates_gpu, l->n, scale, 0);
            return 1;
        case CONNECTED:
            push(list, l->weights_gpu, l->weight_updates_gpu, (size_t)l->inputs * l->outputs, scale, 1);
            push(list, l->biases_gpu, l->bias_updates_gpu, l->outputs, scale, 0);
            if(l->batch_normalize) push(list, l->scales_gpu, l->scale_updates_gpu, l->outputs, scale, 0);
            return 1;
        case LOCAL:
            push(list, l->weights_gpu, l->weight_updates_gpu,
                 (size_t)l->size * l->size * l->c * l->n * l->out_w * l->out_h, scale, 1);
            push(list, l->biases_gpu, l->bias_updates_gpu, l->outputs, scale, 0);
            return 1;
        case BATCHNORM:
            push(list, l->scales_gpu, l->scale_updates_gpu, l->c, scale, 0);
            push(list, l->biases_gpu, l->bias_updates_gpu, l->c, scale, 0);
            return 1;
        case RNN:
        case CRNN: {
            const layer *subs[] = {l->input_layer, l->self_layer, l->output_layer};
            for(i = 0; i < 3; ++i) if(subs[i] && !collect_gpu(list, subs[i], scale)) return 0;
            return 1;
        }
        case GRU: {
            const layer *subs[] = {l->uz, l->wz, l->ur, l->wr, l->uh, l->wh};
            for(i = 0; i < 6; ++i) if(subs[i] && !collect_gpu(list, subs[i], scale)) return 0;
            return 1;
        }
        case LSTM: {
            const layer *subs[] = {l->wf, l->wi, l->wg, l->wo, l->uf, l->ui, l->ug, l->uo};
            for(i = 0; i < 8; ++i) if(subs[i] && !collect_gpu(list, subs[i], scale)) return 0;
            return 1;
        }
        default:
            return !(l->update_gpu || l->weight_updates_gpu || l->bias_updates_gpu);
    }
}

/* Device state of each GPU network's ALI-G state (one per net->alig; a
 * multi-GPU run parses one network per GPU, before the training threads). */
typedef struct gpu_entry {
    alig_state *s;
    alig_cuda *c;
    int gpu;
    struct gpu_entry *next;
} gpu_entry;
static gpu_entry *gpu_entries;

static gpu_entry *gpu_entry_of(const alig_state *s)
{
    gpu_entry *e;
    for(e = gpu_entries; e; e = e->next) if(e->s == s) return e;
    return 0;
}

static void attach_gpu(network *net)
{
    alig_state *s = net->alig;
    array_list list = {0};
    int i;
    for(i = 0; i < net->n; ++i){
        const layer *l = &net->layers[i];
        if(!collect_gpu(&list, l, l->learning_rate_scale)){
            fprintf(stderr, "%s: layer %d [%s]: policy=alig cannot train this layer type on the GPU\n",
                    cfg_file(), i, layer_name(l->type));
            exit(1);
        }
    }
    int same = list.n == s->n_arrays;
    for(i = 0; same && i < list.n; ++i){
        if(list.a[i].n != s->arrays[i].n || list.a[i].decayed != s->arrays[i].decayed) same = 0;
    }
    if(!same){
        fprintf(stderr, "%s: policy=alig: the network's GPU arrays do not match its CPU arrays "
                "(%d vs %d); train with -nogpu\n", cfg_file(), list.n, s->n_arrays);
        exit(1);
    }
    alig_cuda_array *dev = calloc(list.n + 1, sizeof(alig_cuda_array));
    gpu_entry *e = calloc(1, sizeof(gpu_entry));
    if(!dev || !e){ fprintf(stderr, "ALI-G: out of memory\n"); exit(1); }
    for(i = 0; i < list.n; ++i){
        dev[i].param = list.a[i].param;
        dev[i].grad_sum = list.a[i].grad_sum;
        dev[i].n = list.a[i].n;
        dev[i].lr_scale = list.a[i].lr_scale;
        dev[i].decayed = list.a[i].decayed;
    }
    cuda_set_device(net->gpu_index);
    e->c = alig_cuda_create(&s->cfg, dev, list.n);
    if(!e->c){ fprintf(stderr, "%s: policy=alig: cannot set up the GPU state\n", cfg_file()); exit(1); }
    e->s = s;
    e->gpu = net->gpu_index;
    e->next = gpu_entries;
    gpu_entries = e;
    free(dev);
    free(list.a);
    fprintf(stderr, "ALI-G: update on GPU %d (%zu parameters; momentum on the device: %s)\n", net->gpu_index,
            alig_cuda_parameters(e->c), s->cfg.momentum > 0 ? "one float per parameter" : "none");
}

int alig_darknet_gpu_velocity_to_host(network *net)
{
    gpu_entry *e = net->alig ? gpu_entry_of(net->alig) : 0;
    if(!e) return 0;
    cuda_set_device(e->gpu);
    return alig_cuda_velocity_to_host(e->c, net->alig);
}

int alig_darknet_gpu_velocity_to_device(network *net)
{
    gpu_entry *e = net->alig ? gpu_entry_of(net->alig) : 0;
    if(!e) return 0;
    cuda_set_device(e->gpu);
    return alig_cuda_velocity_from_host(e->c, net->alig);
}

int alig_darknet_on_gpu(network *net)
{
    return net->alig && gpu_entry_of(net->alig) != 0;
}
#endif

void alig_darknet_attach(network *net)
{
    if(net->policy != ALIG) return;
    array_list list = {0};
    int i;
    for(i = 0; i < net->n; ++i){
        const layer *l = &net->layers[i];
        const char *why = alig_darknet_unsupported_loss(l);
        if(why){
            fprintf(stderr, "%s: layer %d [%s]: policy=alig does not support this layer yet: %s\n",
                    cfg_file(), i, layer_name(l->type), why);
            exit(1);
        }
        if(broken_upstream(l->type)){
            fprintf(stderr, "%s: layer %d [%s]: policy=alig refuses this layer: %s\n",
                    cfg_file(), i, layer_name(l->type), broken_upstream(l->type));
            exit(1);
        }
        if(!collect(&list, l, l->learning_rate_scale)){
            fprintf(stderr, "%s: layer %d [%s]: policy=alig cannot train this layer type\n",
                    cfg_file(), i, layer_name(l->type));
            exit(1);
        }
    }
    alig_state *s = net->alig;
    if(!alig_set_arrays(s, list.a, list.n)){ fprintf(stderr, "ALI-G: out of memory\n"); exit(1); }
    free(list.a);

    size_t total = 0;
    for(i = 0; i < s->n_arrays; ++i) total += s->arrays[i].n;
    fprintf(stderr, "ALI-G: max step (learning_rate) %g, momentum %g (%s), alig_eps %g, alig_max_norm %g%s, "
            "decay %g, burn_in %d, power %g, bn_recalibrate %d; %zu parameters in %d arrays, B = %d\n",
            s->cfg.max_lr, s->cfg.momentum, s->cfg.form == ALIG_NESTEROV ? "nesterov" : "adjusted",
            s->cfg.eps, s->cfg.max_norm, s->cfg.max_norm > 0 ? "" : " (no projection)",
            s->cfg.decay, net->burn_in, net->power, net->bn_recalibrate, total, s->n_arrays,
            net->batch * net->subdivisions);
    if(s->cfg.decay > 0){
        fprintf(stderr, "ALI-G: decay %g enters both the gradient and the loss; "
                "ALI-G prefers alig_max_norm (projection) to weight decay\n", s->cfg.decay);
    }
#ifdef GPU
    if(net->gpu_index >= 0) attach_gpu(net);
#endif
}

double alig_darknet_layer_loss(const layer *l)
{
    if(!l->cost) return 0;
    switch(l->type){
        case SOFTMAX:
        case LOGXENT:
            return l->cost[0];
        case YOLO:
        case REGION:
        case DETECTION:
            return dloss_layer_loss(l);
        case COST:
            /* Upstream's cost is sum(d^2) (sse), 2x Huber (smooth) or sum|d|
             * (L1); the delta passed back is scale times their gradient. */
            if(l->cost_type == L1) return (double)l->scale * l->cost[0];
            return 0.5 * l->scale * l->cost[0];
        default:
            return 0;
    }
}

void alig_darknet_add_loss(network *net)
{
    double sum = 0;
    int i;
    for(i = 0; i < net->n; ++i) sum += alig_darknet_layer_loss(&net->layers[i]);
    alig_add_loss(net->alig, sum);
}

float alig_darknet_max_lr(network *net)
{
    size_t batch_num = get_current_batch(net);
    if(batch_num < (size_t)net->burn_in){
        return net->learning_rate * pow((float)batch_num / net->burn_in, net->power);
    }
    return net->learning_rate;
}

void alig_darknet_update(network *net)
{
    alig_state *s = net->alig;
    alig_result r;
#ifdef GPU
    gpu_entry *e = net->gpu_index >= 0 ? gpu_entry_of(s) : 0;
    if(e){
        cuda_set_device(e->gpu);
        r = alig_cuda_step(s, e->c, net->batch * net->subdivisions, alig_darknet_max_lr(net));
    } else
#endif
    r = alig_step(s, net->batch * net->subdivisions, alig_darknet_max_lr(net));
    if(!r.skipped) return;
    fprintf(stderr, "ALI-G: non-finite loss (%g) or gradient norm (%g) at iteration %zu: step skipped "
            "(%d in a row, %ld in all)\n", r.loss, r.grad_sq, get_current_batch(net),
            s->skipped_in_row, s->skipped_total);
    if(s->skipped_in_row >= ALIG_MAX_SKIPS_IN_ROW){
        fprintf(stderr, "ALI-G: %d steps in a row had a non-finite loss or gradient; stopping. "
                "The last weights file saved is unchanged.\n", s->skipped_in_row);
        exit(1);
    }
}

float alig_darknet_rate(network *net)
{
    if(net->alig && net->alig->steps_taken > 0) return net->alig->last.step;
    return alig_darknet_max_lr(net);
}
