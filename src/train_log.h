#ifndef TRAIN_LOG_H
#define TRAIN_LOG_H
/* Machine-readable training log and seeding for `darknet classifier train`:
 *   -log FILE   CSV, one row per iteration:
 *               iteration,images,loss,step,unclipped,wall_seconds
 *               (step: the step ALI-G took, or the schedule's learning rate
 *               for other policies; unclipped: ALI-G's loss/||g||^2, empty
 *               for other policies; wall_seconds since training started)
 *   -seed N     seeds C's rand() with N for the weights and N+1 for the data
 *               order and augmentation, instead of time(0). */
#include "darknet.h"

/* Reads and removes -log and -seed from argv; opens the log (exits with a
 * message when it cannot). Call once, before training. */
void train_log_args(int *argc, char **argv);
/* The seed for rand(): -seed N plus `which`, or `fallback` without -seed. */
unsigned train_log_seed(unsigned fallback, int which);
/* One row after each iteration; nothing without -log. */
void train_log_iteration(network *net, float loss);
/* Flushes and closes the log. */
void train_log_close(void);

#endif
