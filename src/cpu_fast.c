#include "cpu_fast.h"
#include <float.h>
#include <math.h>
#include <string.h>

void im2col_fast(const float *im, int channels, int height, int width,
                 int ksize, int stride, int pad, float *col)
{
    const int out_h = (height + 2*pad - ksize) / stride + 1;
    const int out_w = (width + 2*pad - ksize) / stride + 1;
    int c, ky, kx, y, x;
    for(c = 0; c < channels; ++c){
        const float *plane = im + (size_t)c * height * width;
        for(ky = 0; ky < ksize; ++ky){
            for(kx = 0; kx < ksize; ++kx){
                float *row = col + ((size_t)(c * ksize + ky) * ksize + kx) * out_h * out_w;
                /* output columns x whose input column lies inside the image */
                int x_lo = 0, x_hi = out_w;
                while(x_lo < out_w && x_lo * stride + kx - pad < 0) ++x_lo;
                while(x_hi > x_lo && (x_hi - 1) * stride + kx - pad >= width) --x_hi;
                for(y = 0; y < out_h; ++y){
                    float *out = row + (size_t)y * out_w;
                    int iy = y * stride + ky - pad;
                    if(iy < 0 || iy >= height){
                        memset(out, 0, out_w * sizeof(float));
                        continue;
                    }
                    const float *in = plane + (size_t)iy * width + kx - pad;
                    for(x = 0; x < x_lo; ++x) out[x] = 0;
                    if(stride == 1){
                        memcpy(out + x_lo, in + x_lo, (x_hi - x_lo) * sizeof(float));
                    } else {
                        for(x = x_lo; x < x_hi; ++x) out[x] = in[x * stride];
                    }
                    for(x = x_hi; x < out_w; ++x) out[x] = 0;
                }
            }
        }
    }
}

void col2im_fast(const float *col, int channels, int height, int width,
                 int ksize, int stride, int pad, float *im)
{
    const int out_h = (height + 2*pad - ksize) / stride + 1;
    const int out_w = (width + 2*pad - ksize) / stride + 1;
    int c, ky, kx, y, x;
    for(c = 0; c < channels; ++c){
        float *plane = im + (size_t)c * height * width;
        for(ky = 0; ky < ksize; ++ky){
            for(kx = 0; kx < ksize; ++kx){
                const float *row = col + ((size_t)(c * ksize + ky) * ksize + kx) * out_h * out_w;
                int x_lo = 0, x_hi = out_w;
                while(x_lo < out_w && x_lo * stride + kx - pad < 0) ++x_lo;
                while(x_hi > x_lo && (x_hi - 1) * stride + kx - pad >= width) --x_hi;
                for(y = 0; y < out_h; ++y){
                    int iy = y * stride + ky - pad;
                    if(iy < 0 || iy >= height) continue;
                    const float *in = row + (size_t)y * out_w;
                    float *out = plane + (size_t)iy * width + kx - pad;
                    for(x = x_lo; x < x_hi; ++x) out[x * stride] += in[x];
                }
            }
        }
    }
}

int activate_array_fast(float *x, int n, ACTIVATION a)
{
    int i;
    switch(a){
        case LINEAR:
            return 1;
        case LEAKY:
            for(i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : .1 * x[i];   /* in double, as upstream */
            return 1;
        case RELU:
            for(i = 0; i < n; ++i) x[i] = x[i] * (x[i] > 0);
            return 1;
        default:
            return 0;
    }
}

int gradient_array_fast(const float *x, int n, ACTIVATION a, float *delta)
{
    int i;
    switch(a){
        case LINEAR:
            return 1;
        case LEAKY:
            for(i = 0; i < n; ++i) delta[i] *= x[i] > 0 ? 1 : .1f;
            return 1;
        case RELU:
            for(i = 0; i < n; ++i) delta[i] *= (x[i] > 0);
            return 1;
        default:
            return 0;
    }
}

int maxpool_forward_fast(const layer *l, const float *input)
{
    if(l->size != 2 || l->stride != 2 || l->pad / 2 != 0) return 0;
    if(2 * l->out_h > l->h || 2 * l->out_w > l->w) return 0;
    const int planes = l->batch * l->c;
    int p, i, j;
    for(p = 0; p < planes; ++p){
        const float *in = input + (size_t)p * l->h * l->w;
        float *out = l->output + (size_t)p * l->out_h * l->out_w;
        int *idx = l->indexes + (size_t)p * l->out_h * l->out_w;
        const int base = p * l->h * l->w;
        for(i = 0; i < l->out_h; ++i){
            const float *r0 = in + (size_t)(2 * i) * l->w;
            const float *r1 = r0 + l->w;
            for(j = 0; j < l->out_w; ++j){
                /* scan order as upstream: (0,0) (0,1) (1,0) (1,1), strict >;
                 * selects rather than branches: the winner is unpredictable */
                const float v1 = r0[2*j + 1], v2 = r1[2*j], v3 = r1[2*j + 1];
                const int a0 = 2 * i * l->w + 2 * j, a2 = a0 + l->w;
                float m = r0[2*j];
                int at = a0;
                at = v1 > m ? a0 + 1 : at;  m = v1 > m ? v1 : m;
                at = v2 > m ? a2 : at;      m = v2 > m ? v2 : m;
                at = v3 > m ? a2 + 1 : at;  m = v3 > m ? v3 : m;
                out[i * l->out_w + j] = m;
                idx[i * l->out_w + j] = base + at;
            }
        }
    }
    return 1;
}
