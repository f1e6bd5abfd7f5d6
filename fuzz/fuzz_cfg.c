/* libFuzzer harness: the input is a .cfg file; parse_network_cfg must either
 * build the network or refuse it through exit(1) with a message, never
 * crash. */
#include "darknet.h"
#include "robust.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if(size > 4096 || !fuzz_small_numbers(data, size, 40)) return 0;
    fuzz_quiet();
    const char *cfg = fuzz_file(".cfg", data, size);
    if(setjmp(fuzz_jmp) == 0){
        fuzz_in_target = 1;
        network *net = parse_network_cfg((char *)cfg);
        fuzz_in_target = 0;
        free_network(net);
    }
    robust_cfg_done();
    fuzz_close_leaked();
    return 0;
}
