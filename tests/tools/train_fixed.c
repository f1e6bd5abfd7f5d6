/* Trains a cfg for a fixed number of steps on fixed pseudo-random data, with
 * a fixed seed, and saves the weights: the same source is linked against
 * untouched upstream and against this fork to compare what they train.
 * Usage: train_fixed CFG OUT.weights STEPS SEED */
#include "darknet.h"
#include <stdio.h>
#include <stdlib.h>

static unsigned long long state;
static float uniform(void)
{
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((state >> 40) / (double)(1ULL << 24));
}

int main(int argc, char **argv)
{
    if(argc != 5){ fprintf(stderr, "usage: %s CFG OUT STEPS SEED\n", argv[0]); return 2; }
    int steps = atoi(argv[3]);
    state = strtoull(argv[4], 0, 10);
    srand(atoi(argv[4]));
    network *net = parse_network_cfg(argv[1]);
    int rows = net->batch * net->subdivisions;
    data d = {0};
    d.X = make_matrix(rows, net->inputs);
    d.y = make_matrix(rows, net->outputs);
    int s, i, j;
    for(s = 0; s < steps; ++s){
        for(i = 0; i < rows; ++i){
            for(j = 0; j < net->inputs; ++j) d.X.vals[i][j] = uniform();
            for(j = 0; j < net->outputs; ++j) d.y.vals[i][j] = 0;
            d.y.vals[i][(int)(uniform() * net->outputs) % net->outputs] = 1;
        }
        float loss = train_network(net, d);
        /* for policy=alig the rate is the step ALI-G took */
        printf("step %d loss %f rate %.9g\n", s + 1, loss, get_current_rate(net));
    }
    save_weights(net, argv[2]);
    free_data(d);
    return 0;
}
