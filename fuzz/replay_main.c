/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Corpus replay without libFuzzer: runs LLVMFuzzerTestOneInput once on every
 * file named on the command line or found in a directory named there. A
 * crash, sanitizer report or broken invariant ends the process abnormally,
 * which fails the test. An empty or missing corpus is an error too: a
 * regression test that replays nothing would pass silently.
 *   replay_<target> DIR|FILE...
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Inputs are small (run.sh caps them); anything bigger is not a corpus file. */
#define REPLAY_MAX_INPUT (16u << 20)

static int replay_file(const char *path)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t len = 0;
    FILE *f = NULL;
    int rc = -1;

    f = fopen(path, "rb");
    if (f == NULL || fstat(fileno(f), &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        goto done;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > REPLAY_MAX_INPUT) {
        fprintf(stderr, "replay: %s: larger than %u bytes\n", path, REPLAY_MAX_INPUT);
        goto done;
    }
    len = (size_t)st.st_size;
    /* Exactly len bytes, so ASan sees any read past the input. */
    buf = malloc(len > 0 ? len : 1);
    if (buf == NULL || (len > 0 && fread(buf, 1, len, f) != len)) {
        fprintf(stderr, "replay: %s: cannot read\n", path);
        goto done;
    }
    LLVMFuzzerTestOneInput(buf, len);
    rc = 0;
done:
    free(buf);
    if (f != NULL)
        fclose(f);
    return rc;
}

static int replay_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order so runs are reproducible. */
static int replay_dir(const char *dir, size_t *count)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    DIR *d = opendir(dir);
    int rc = -1;

    if (d == NULL) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **grown = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));

            if (grown == NULL)
                goto done;
            names = grown;
        }
        names[n] = malloc(strlen(dir) + strlen(de->d_name) + 2);
        if (names[n] == NULL)
            goto done;
        sprintf(names[n], "%s/%s", dir, de->d_name);
        n++;
    }
    qsort(names, n, sizeof(*names), replay_name_cmp);
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct stat st;

        if (stat(names[i], &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        rc = replay_file(names[i]);
        if (rc == 0)
            (*count)++;
    }
done:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    struct stat st;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
        return 2;
    }
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count) != 0 : replay_file(argv[i]) != 0)
            return 1;
        if (!S_ISDIR(st.st_mode))
            count++;
    }
    if (count == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        return 1;
    }
    printf("replayed %zu inputs without a crash\n", count);
    return 0;
}
