#ifndef MAP_EVAL_H
#define MAP_EVAL_H
/* Mean average precision of object detections (Pascal VOC 2010+ rules),
 * independent of Darknet's types so that it can be tested on hand-made boxes.
 *
 * Boxes are centre-relative: x, y the centre, w, h the size, all in the same
 * units (Darknet uses fractions of the image).
 *
 * Per class, detections are ranked by score (highest first; equal scores
 * keep the order in which they were added). Each one takes the ground truth
 * of its class and image with the highest IoU (among all truths, matched or
 * not, as the VOC devkit does); it is a true positive if that IoU >= the
 * threshold and that truth is still unmatched (it then becomes matched),
 * otherwise a false positive, so a second detection of a found object is
 * a false positive. AP is the area under the precision-recall curve after
 * precision is made non-increasing from the right (all-point interpolation).
 * Classes without ground truth have no AP: they are left out of the mean and
 * their detections are ignored. */

typedef struct {
    float x, y, w, h;
} map_box;

typedef struct map_eval map_eval;

typedef struct {
    int classes;
    double *ap;          /* per class; 0 for a class without truths */
    int *truths;         /* ground-truth boxes per class */
    int *detections;     /* detections per class (counted even without truths) */
    int *tp;             /* true positives per class */
    int *has_truth;      /* 1 if the class counts in the mean */
    int counted;         /* classes in the mean */
    double mean;         /* mean AP over the counted classes; 0 if none */
} map_result;

map_eval *map_eval_create(int classes);
void map_eval_free(map_eval *e);

/* Return 0, or -1 (nothing added) for a class outside [0, classes), a
 * negative image index, a non-finite score or box, or no memory. */
int map_eval_add_truth(map_eval *e, int image, int cls, map_box b);
int map_eval_add_detection(map_eval *e, int image, int cls, float score, map_box b);

/* Fills *r (free it with map_result_free). Returns 0, or -1 for no memory
 * or a threshold outside (0, 1]. Can be called again after more boxes. */
int map_eval_compute(const map_eval *e, float iou_thresh, map_result *r);
void map_result_free(map_result *r);

/* IoU of two centre-relative boxes; 0 when they do not overlap. */
double map_box_iou(map_box a, map_box b);

#endif
