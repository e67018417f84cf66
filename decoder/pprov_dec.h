/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the key-reference decoders (PEM unwrapping and DER to key). */
#ifndef PPROV_DEC_H
#define PPROV_DEC_H

#include <openssl/core.h>

#include "pprov.h"

/*
 * Our reference is unusable (reason already raised): hand the chain a
 * reference keymgmt refuses, which OpenSSL treats as a hard error on every
 * path (PEM_read_bio_PrivateKey, the file: store), keeping the reason on the
 * error queue. Returns 0 for the decoder to return.
 */
int pprov_keyref_fail(pprov_ctx *ctx, int type, OSSL_CALLBACK *data_cb, void *data_cbarg);

#endif
