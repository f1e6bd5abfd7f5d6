/* Runs one training forward pass of a detection cfg on the CPU path
 * (gpu_index = -1, as `darknet -nogpu` sets it) on fixed input and truths,
 * and prints each detection layer's output sum, upstream cost and true loss.
 * Built against a CPU build and a GPU build, the two must print the same. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "darknet.h"
#include "network.h"
#include "parser.h"
#include "detection_loss_darknet.h"

int main(int argc, char **argv)
{
    if(argc != 2){ fprintf(stderr, "usage: %s CFG\n", argv[0]); return 2; }
    gpu_index = -1;
    srand(7);
    network *net = parse_network_cfg(argv[1]);
    int i, b;
    for(i = 0; i < net->inputs * net->batch; ++i) net->input[i] = 0.5f + 0.5f * sinf(i * 0.37f);
    for(b = 0; b < net->batch; ++b){
        float boxes[] = {0.3f,0.3f,0.4f,0.3f,1, 0.7f,0.6f,0.2f,0.5f,0, 0.52f,0.8f,0.6f,0.3f,1};
        for(i = 0; i < 15; ++i) net->truth[b*net->truths + i] = boxes[i];
    }
    net->train = 1;
    forward_network(net);
    for(i = 0; i < net->n; ++i){
        layer *l = &net->layers[i];
        if(l->type != YOLO && l->type != REGION) continue;
        double sum = 0;
        int k;
        for(k = 0; k < l->outputs * l->batch; ++k) sum += l->output[k];
        printf("layer %d output_sum %.6f cost %.6f true_loss %.6f\n", i, sum, l->cost[0], dloss_layer_loss(l));
    }
    free_network(net);
    return 0;
}
