#include "alig_resume.h"
#include "alig.h"
#include "weights_io.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Layout (native byte order, like the weights file):
 *   char magic[8] = "ALIGSTAT"; uint32 version; uint32 n_arrays;
 *   uint64 seen; int64 steps_taken; int64 skipped_total; int32 skipped_in_row;
 *   n_arrays x { uint64 n; uint32 has_velocity; float velocity[n] if has };
 *   char end[4] = "END\n" */
static const char MAGIC[8] = {'A','L','I','G','S','T','A','T'};

static void sidecar_name(const char *weights, char *out, size_t size)
{
    snprintf(out, size, "%s.alig", weights);
}

void alig_resume_save(network *net, const char *filename, int cutoff)
{
    alig_state *s = net->alig;
    if(!s || cutoff < net->n) return;
    char name[4096], tmp[4200];
    sidecar_name(filename, name, sizeof(name));
    FILE *fp = weights_tmp_open(name, tmp, sizeof(tmp));
    uint32_t version = ALIG_SIDECAR_VERSION, n = s->n_arrays;
    uint64_t seen = *net->seen;
    int64_t steps = s->steps_taken, skipped = s->skipped_total;
    int32_t in_row = s->skipped_in_row;
    fwrite(MAGIC, 1, 8, fp);
    fwrite(&version, sizeof(version), 1, fp);
    fwrite(&n, sizeof(n), 1, fp);
    fwrite(&seen, sizeof(seen), 1, fp);
    fwrite(&steps, sizeof(steps), 1, fp);
    fwrite(&skipped, sizeof(skipped), 1, fp);
    fwrite(&in_row, sizeof(in_row), 1, fp);
    int i;
    for(i = 0; i < s->n_arrays; ++i){
        uint64_t len = s->arrays[i].n;
        uint32_t has = s->arrays[i].velocity != 0;
        fwrite(&len, sizeof(len), 1, fp);
        fwrite(&has, sizeof(has), 1, fp);
        if(has) fwrite(s->arrays[i].velocity, sizeof(float), len, fp);
    }
    fwrite("END\n", 1, 4, fp);
    weights_tmp_commit(fp, tmp, name);
}

static int read_all(FILE *fp, void *p, size_t size, size_t n)
{
    return fread(p, size, n, fp) == n;
}

void alig_resume_load(network *net, const char *filename, int start, int cutoff)
{
    alig_state *s = net->alig;
    if(!s || start != 0 || cutoff < net->n) return;
    char name[4096];
    sidecar_name(filename, name, sizeof(name));
    FILE *fp = fopen(name, "rb");
    if(!fp){
        fprintf(stderr, "ALI-G: no %s beside the weights: momentum starts at 0\n", name);
        return;
    }
    const char *why = 0;
    char magic[8], end[4];
    uint32_t version = 0, n = 0;
    uint64_t seen = 0;
    int64_t steps = 0, skipped = 0;
    int32_t in_row = 0;
    float **v = calloc(s->n_arrays + 1, sizeof(float *));
    int i;
    if(!read_all(fp, magic, 1, 8) || memcmp(magic, MAGIC, 8)) why = "not an ALI-G state file";
    else if(!read_all(fp, &version, sizeof(version), 1) || version != ALIG_SIDECAR_VERSION) why = "unknown version";
    else if(!read_all(fp, &n, sizeof(n), 1) || !read_all(fp, &seen, sizeof(seen), 1)
            || !read_all(fp, &steps, sizeof(steps), 1) || !read_all(fp, &skipped, sizeof(skipped), 1)
            || !read_all(fp, &in_row, sizeof(in_row), 1)) why = "truncated";
    else if((int)n != s->n_arrays) why = "made for another network (number of arrays differs)";
    else if(seen != (uint64_t)*net->seen) why = "does not belong to these weights (images seen differ)";
    for(i = 0; !why && i < s->n_arrays; ++i){
        uint64_t len;
        uint32_t has;
        if(!read_all(fp, &len, sizeof(len), 1) || !read_all(fp, &has, sizeof(has), 1)){ why = "truncated"; break; }
        if(len != s->arrays[i].n || (has != 0) != (s->arrays[i].velocity != 0)){
            why = "made for another network (array sizes or momentum differ)";
            break;
        }
        if(!has) continue;
        v[i] = malloc(len * sizeof(float));
        if(!v[i] || !read_all(fp, v[i], sizeof(float), len)) why = "truncated";
    }
    if(!why && (!read_all(fp, end, 1, 4) || memcmp(end, "END\n", 4))) why = "truncated";
    fclose(fp);
    if(!why){
        for(i = 0; i < s->n_arrays; ++i) if(v[i]) memcpy(s->arrays[i].velocity, v[i], s->arrays[i].n * sizeof(float));
        s->steps_taken = steps;
        s->skipped_total = skipped;
        s->skipped_in_row = in_row;
        fprintf(stderr, "ALI-G: momentum restored from %s (%ld steps taken)\n", name, (long)steps);
    } else {
        fprintf(stderr, "ALI-G: ignoring %s: %s; momentum starts at 0\n", name, why);
    }
    for(i = 0; i < s->n_arrays; ++i) free(v[i]);
    free(v);
}

void alig_resume_forget_if_cleared(network *net)
{
    alig_state *s = net->alig;
    if(!s || *net->seen != 0 || s->steps_taken == 0) return;
    int i;
    for(i = 0; i < s->n_arrays; ++i){
        if(s->arrays[i].velocity) memset(s->arrays[i].velocity, 0, s->arrays[i].n * sizeof(float));
    }
    s->steps_taken = 0;
    s->skipped_total = 0;
    s->skipped_in_row = 0;
    fprintf(stderr, "ALI-G: training starts from 0 images seen (-clear): momentum starts at 0\n");
}
