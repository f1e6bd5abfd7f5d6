#ifndef BN_RECALIBRATE_H
#define BN_RECALIBRATE_H
/* Batch-norm statistics for the current weights. Upstream keeps a 0.99/0.01
 * running average, which lags behind weights that still move fast (ALI-G,
 * constant or any schedule still high at the end). Here: K forward passes in
 * training mode over training batches, parameters untouched, and the rolling
 * mean and variance set to the equal-weight average of the batch statistics. */
#include "darknet.h"

/* Fills net->input (and net->truth if it likes) with the next batch of
 * net->batch samples; returns 0 when it has none. */
typedef int (*bn_batch_fn)(void *ctx, network *net);

/* Returns the number of batches used (0: no batch-norm layer or no data). */
int bn_recalibrate(network *net, int k, bn_batch_fn next_batch, void *ctx);

/* Copies of the rolling statistics, to put back after a save so that
 * training continues exactly as it would have. */
typedef struct bn_saved bn_saved;
bn_saved *bn_save_rolling(network *net);
void bn_restore_rolling(network *net, bn_saved *saved);   /* frees saved */

/* Training images for re-estimation before every save (classifier). */
void bn_recalibrate_use_paths(network *net, char **paths, int n);
/* Hooks around save_weights: re-estimate if net->bn_recalibrate > 0 and
 * training images are known; afterwards restore what training had. */
bn_saved *bn_recalibrate_before_save(network *net);
void bn_recalibrate_after_save(network *net, bn_saved *saved);

/* darknet classifier|detector bnstats DATA CFG WEIGHTS [OUT]: re-estimates the
 * statistics of existing weights over images of the train= list. */
void bnstats_command(char *datacfg, char *cfgfile, char *weightfile, char *outfile);

#endif
