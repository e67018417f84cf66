/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the TLS check programs: TAP-style reporting and store loading. */
#ifndef TLS_CHECK_UTIL_H
#define TLS_CHECK_UTIL_H

#include <openssl/evp.h>

/* Print "ok - what" / "not ok - what" (with the error queue), count failures. */
void report(int good, const char *what);
/* Print "N check(s) failed" and return N. */
int tls_check_summary(void);
/* The first private key a store URI (or key-reference file) yields, or NULL. */
EVP_PKEY *tls_check_load_private(const char *uri);

#endif
