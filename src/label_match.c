#include "label_match.h"
#include <string.h>

static int is_separator(char c)
{
    return c == '_' || c == '-' || c == '.' || c == ' ';
}

/* Does `label` equal one whole token of the file name (after the last '/')? */
static int names_token(const char *path, const char *label)
{
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    size_t len = strlen(label);
    if(len == 0) return 0;
    const char *p = name;
    while((p = strstr(p, label)) != 0){
        int starts = (p == name) || is_separator(p[-1]);
        int ends = p[len] == 0 || is_separator(p[len]);
        if(starts && ends) return 1;
        ++p;
    }
    return 0;
}

int label_match_truth(const char *path, char **labels, int k, float *truth)
{
    int i, count = 0;
    for(i = 0; i < k; ++i){
        if(names_token(path, labels[i])){
            truth[i] = 1;
            ++count;
        }
    }
    if(count) return count;
    for(i = 0; i < k; ++i){
        if(strstr(path, labels[i])){
            truth[i] = 1;
            ++count;
        }
    }
    return count;
}

int label_match_index(const char *path, char **labels, int k)
{
    int i;
    for(i = 0; i < k; ++i) if(names_token(path, labels[i])) return i;
    for(i = 0; i < k; ++i) if(strstr(path, labels[i])) return i;
    return -1;
}
