#ifndef ALIG_DARKNET_H
#define ALIG_DARKNET_H
/* pjreddie/darknet adapter for the ALI-G core: reads the [net] keys, hands
 * the core every trainable array of every layer and the true loss of every
 * loss layer. Only this file (and the hooks calling it) differ per fork. */
#include "darknet.h"
#include "option_list.h"

/* End of parse_net_options: strict values, ALI-G keys, bn_recalibrate. */
void alig_darknet_parse_options(list *options, network *net);
/* End of parse_network_cfg: collect the arrays, refuse unsupported layers. */
void alig_darknet_attach(network *net);
/* After each forward/backward pass (one subdivision). */
void alig_darknet_add_loss(network *net);
/* Replaces upstream's update when policy=alig. */
void alig_darknet_update(network *net);
/* What the log's rate column shows: the step last taken. */
float alig_darknet_rate(network *net);
/* Maximal step now: learning_rate with upstream's burn-in ramp. */
float alig_darknet_max_lr(network *net);
/* Summed over the layer's samples: the loss whose negative gradient the
 * layer writes into delta. Returns 0 for layers without a loss. */
double alig_darknet_layer_loss(const layer *l);
/* Why ALI-G cannot use this loss layer's loss (yet), or 0. */
const char *alig_darknet_unsupported_loss(const layer *l);

#endif
