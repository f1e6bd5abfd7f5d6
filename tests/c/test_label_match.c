/* Classifier label matching: a label equal to a token of the file name wins
 * over upstream's substring match of the whole path, which made 'shirt'
 * match 'tshirt' and a label 'rain' match the folder 'train/'. Checked
 * through upstream's own fill_truth (patched) and the validate helper. */
#include "label_match.h"
#include <stdio.h>
#include <string.h>

void fill_truth(char *path, char **labels, int k, float *truth);   /* data.c */

static int failures;

static void expect(const char *path, char **labels, int k, int want)
{
    float truth[16];
    int i, ones = 0;
    fill_truth((char *)path, labels, k, truth);
    for(i = 0; i < k; ++i) ones += truth[i] == 1;
    int idx = label_match_index(path, labels, k);
    int ok = idx == want && (want < 0 ? ones == 0 : (ones == 1 && truth[want] == 1));
    printf("%s %-40s -> %s (fill_truth marks %d label(s), index %d)\n", ok ? "ok  " : "FAIL", path,
           want >= 0 ? labels[want] : "none", ones, idx);
    if(!ok) failures++;
}

int main(void)
{
    char *shirts[] = {"tshirt", "shirt"};
    expect("data/fashion/train/00001_shirt.png", shirts, 2, 1);
    expect("data/fashion/train/00002_tshirt.png", shirts, 2, 0);
    char *weather[] = {"rain", "snow"};
    expect("data/train/00004_snow.png", weather, 2, 1);
    expect("data/train/00005_rain.png", weather, 2, 0);
    char *synsets[] = {"n01440764", "n01443537"};
    expect("imagenet/n01443537/n01443537_10026.JPEG", synsets, 2, 1);
    char *pets[] = {"cats", "dogs"};
    expect("pets/dogs/img1.jpg", pets, 2, 1);   /* no token names a label: upstream's rule */
    expect("pets/birds/img2.jpg", pets, 2, -1);
    char *fashion[] = {"tee", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankleboot"};
    expect("data/fashion/test/09999_ankleboot.png", fashion, 10, 9);
    expect("data/fashion/test/00010_shirt.png", fashion, 10, 6);
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
