#ifndef DETECTION_LOSS_H
#define DETECTION_LOSS_H
/* The true loss behind a detection layer's delta (yolo, region, detection).
 *
 * Every entry such a layer writes has the form delta = scale * (t - p): p the
 * layer's output for that entry, t its target, scale its weight. Knowing the
 * kind of output and the scale, the target comes back as t = p + delta/scale,
 * and with it the loss whose negative gradient with respect to the layer's
 * INPUT is delta, shifted so that its minimum is 0. ALI-G divides this loss by
 * the squared gradient norm, so it must be exactly that function.
 *
 * An entry whose delta is 0 (not written, or ignored) contributes 0.
 * Free of any Darknet structure: the per-fork adapter walks the layout. */

/* Logistic output p = sigmoid(z): scale * KL(t || p), i.e. binary
 * cross-entropy minus the target's entropy (same gradient, minimum 0). */
double dloss_logistic(float p, float delta, float scale);

/* Linear output z: scale/2 (t - z)^2 = delta^2 / (2 scale). */
double dloss_linear(float delta, float scale);

/* A softmax group of n outputs p[k*stride] whose targets sum to 1:
 * scale * KL(t || p) (cross-entropy minus the targets' entropy). */
double dloss_softmax(const float *p, const float *delta, int n, int stride, float scale);

/* Sets the recorded scale of n entries, from index on, every stride. */
void dloss_mark(float *loss_scale, int index, int stride, int n, float scale);

#endif
