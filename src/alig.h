#ifndef ALIG_H
#define ALIG_H
/* ALI-G (Berrada, Zisserman, Kumar, arXiv 1906.05661): the step in closed
 * form from the mini-batch loss and gradient norm. This core knows nothing of
 * any Darknet fork: a fork's adapter hands it the trainable arrays (parameter,
 * gradient accumulator) and the summed loss, and it does the rest. */
#include <stddef.h>

typedef enum { ALIG_NESTEROV, ALIG_ADJUSTED } alig_momentum_form;

typedef struct {
    float max_lr;        /* learning_rate: the maximal step */
    float momentum;      /* 0 = none */
    alig_momentum_form form;
    float eps;
    float max_norm;      /* 0 = no projection */
    float decay;         /* L2 on the arrays marked `decayed` */
} alig_config;

/* One trainable array. grad_sum holds the SUM over samples of -dloss/dparam
 * (Darknet's *_updates convention); it is zeroed after every step. */
typedef struct {
    float *param;
    float *grad_sum;
    float *velocity;     /* momentum buffer, owned by the state; NULL if momentum == 0 */
    size_t n;
    float lr_scale;      /* scales this array's maximal step */
    int decayed;
} alig_array;

typedef struct {
    float step;          /* step taken (before lr_scale) */
    float unclipped;     /* L / (||g||^2 + eps) */
    float loss;          /* regularised mean loss L */
    double grad_sq;      /* ||g||^2 over all arrays */
    int skipped;         /* 1: non-finite loss or norm, nothing updated */
} alig_result;

typedef struct alig_state {
    alig_config cfg;
    alig_array *arrays;
    int n_arrays;
    double loss_sum;     /* sum of per-sample losses since the last step */
    alig_result last;
    long steps_taken;
    long skipped_total;
    int skipped_in_row;
} alig_state;

alig_state *alig_create(alig_config cfg);
/* Copies the array list. Momentum buffers (one float per parameter) are
 * allocated only when cfg.momentum > 0. Returns 0 when out of memory. */
int alig_set_arrays(alig_state *s, const alig_array *arrays, int n_arrays);
void alig_free(alig_state *s);

/* Adds the summed loss of some samples (one subdivision's loss layers). */
void alig_add_loss(alig_state *s, double loss_sum);

/* One step over `batch` samples with maximal step `max_lr` (the caller
 * applies burn-in). Zeroes the accumulators and the loss sum. */
alig_result alig_step(alig_state *s, int batch, float max_lr);

/* Squared L2 norm of all parameters together, and the projection onto the
 * ball of radius max_norm (no-op when max_norm <= 0 or inside the ball). */
double alig_param_sq_norm(const alig_state *s);
void alig_project(alig_state *s, float max_norm);

#endif
