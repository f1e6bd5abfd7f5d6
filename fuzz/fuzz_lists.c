/* libFuzzer harness for the data readers: the input is used in turn as a
 * .data file (read_data_cfg and the keys training reads), a list of paths
 * (get_paths), a labels file (get_labels), a box-label file (read_boxes) and
 * a classifier label match over the paths. */
#include "darknet.h"
#include "data.h"
#include "option_list.h"
#include "label_match.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if(size > 8192) return 0;
    fuzz_quiet();
    const char *f = fuzz_file(".txt", data, size);
    if(setjmp(fuzz_jmp) == 0){
        fuzz_in_target = 1;
        list *options = read_data_cfg((char *)f);
        option_find_int(options, "classes", 2);
        option_find_str(options, "train", "data/train.list");
        option_find_float(options, "top", 1);
        free_list(options);

        list *paths = get_paths((char *)f);
        char **p = (char **)list_to_array(paths);
        int n = paths->size;

        char **labels = get_labels((char *)f);
        int i, k = n < 10 ? n : 10;
        float truth[10];
        for(i = 0; i < n && i < 50; ++i){
            memset(truth, 0, sizeof(truth));
            fill_truth(p[i], labels, k, truth);
        }

        int boxes = 0;
        box_label *b = read_boxes((char *)f, &boxes);
        free(b);
        for(i = 0; i < n; ++i) free(p[i]);
        free(p);
        free_list(paths);
        free(labels);
        fuzz_in_target = 0;
    }
    fuzz_close_leaked();
    return 0;
}
