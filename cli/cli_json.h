/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsec-cli --json helpers (cli_json.c).
 */
#ifndef CLI_JSON_H
#define CLI_JSON_H

#include <json-c/json.h>
#include <stdint.h>

#include "parsec_cli.h"

/* Prints obj (pretty, one document) and releases it; NULL means out of memory. */
int cli_json_print(const cli_opts *o, json_object *obj);
void cli_json_add_string(json_object *obj, const char *key, const char *value);
void cli_json_add_int(json_object *obj, const char *key, int64_t value);
/* {"id", "name", "description", "version": "maj.min.rev"} of a provider or authenticator. */
json_object *cli_json_entry(unsigned int id, const char *name, const char *description,
                            uint32_t maj, uint32_t min, uint32_t rev);
/* {"name", "provider_id", "provider", "type", "bits", "algorithm", "usage": [...]}. */
json_object *cli_json_key(const char *name, uint8_t provider_id, const parsec_key_attributes *a);

#endif
