#ifndef DETECTION_LOSS_DARKNET_H
#define DETECTION_LOSS_DARKNET_H
/* pjreddie/darknet adapter of detection_loss: the layouts of the yolo, region
 * and detection layers. Each layer keeps one scale per output entry
 * (l.loss_scale): dloss_begin sets the layer's default scales after delta is
 * zeroed; the hooks mark the entries written with another scale (boxes,
 * matched objectness); dloss_layer_loss reads output, delta and scales. */
#include "darknet.h"
#include "detection_loss.h"

/* Called in forward when training, after delta is zeroed. */
void dloss_begin(const layer *l);
/* Summed over the layer's batch: the loss whose negative gradient is delta.
 * Valid after a training forward pass; NAN where it cannot be known. */
double dloss_layer_loss(const layer *l);
/* Why this layer's true loss is not known (a variant we do not cover), or 0. */
const char *dloss_unsupported(const layer *l);

#endif
