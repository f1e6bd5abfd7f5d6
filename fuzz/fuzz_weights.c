/* libFuzzer harness: the input is a weights file for a fixed small network
 * (conv + batch-norm, connected, softmax); load_weights must load it or
 * refuse it (exit 1), never crash or read past the file. */
#include "darknet.h"
#include "fuzz_common.h"

static const char *CFG =
    "[net]\nbatch=1\nheight=4\nwidth=4\nchannels=1\n"
    "[convolutional]\nbatch_normalize=1\nfilters=2\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "[connected]\noutput=3\nactivation=linear\n[softmax]\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static network *net = 0;
    fuzz_quiet();
    if(!net){
        const char *cfg = fuzz_file(".net.cfg", (const uint8_t *)CFG, strlen(CFG));
        net = parse_network_cfg((char *)cfg);
    }
    const char *w = fuzz_file(".weights", data, size);
    if(setjmp(fuzz_jmp) == 0){
        fuzz_in_target = 1;
        load_weights(net, (char *)w);
        fuzz_in_target = 0;
    }
    fuzz_close_leaked();
    return 0;
}
