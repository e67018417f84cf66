/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The libFuzzer entry points every target in fuzz/ defines. The same object
 * files link either with libFuzzer (-fsanitize=fuzzer, clang) or with
 * replay_main.c, which runs a corpus once (the 'fuzz' test suite).
 */
#ifndef PARSEC_FUZZ_H
#define PARSEC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Called once before the first input; returns 0. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
/* One input; returns 0 (libFuzzer reserves other values). A bug aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with a message: a broken invariant is a finding, not an error path. */
#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond))                                                                               \
            parsec_fuzz_fail(__FILE__, __LINE__, #cond);                                           \
    } while (0)

__attribute__((noreturn)) static inline void parsec_fuzz_fail(const char *file, int line,
                                                              const char *what)
{
    fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", file, line, what);
    abort();
}

#endif
