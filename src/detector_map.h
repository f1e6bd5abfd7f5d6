#ifndef DETECTOR_MAP_H
#define DETECTOR_MAP_H
/* darknet detector map DATA CFG WEIGHTS [-thresh T] [-iou I]: mean average
 * precision (src/map_eval.c) of a detector over the images of the valid=
 * list in DATA, against the label files that training reads for them.
 * Prints one line per class and ends with "mAP@0.50: 0.xxxxxx ...".
 * Bad input (a file missing, valid= absent, class ids out of range) stops
 * with a message naming the file and exit status 1.
 * thresh: lowest detection score kept (0.005 by default: AP needs the whole
 * precision-recall curve); iou_thresh: IoU a true positive needs (0.5). */
void detector_map(char *datacfg, char *cfgfile, char *weightfile, float thresh, float iou_thresh);

#endif
