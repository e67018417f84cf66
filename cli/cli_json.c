/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsec-cli --json: output objects built with json-c, which escapes every
 * string (key and application names may hold any UTF-8).
 */
#include <json-c/json.h>
#include <stdio.h>

#include "parsec_cli.h"
#include "cli_json.h"

int cli_json_print(const cli_opts *o, json_object *obj)
{
    const char *text;
    int rc = CLI_EXIT_OK;

    if (obj == NULL)
        return cli_local_error(o, "out of memory");
    text = json_object_to_json_string_ext(obj,
                                          JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (text == NULL || printf("%s\n", text) < 0 || fflush(stdout) != 0)
        rc = cli_local_error(o, "cannot write the JSON output");
    json_object_put(obj);
    return rc;
}

void cli_json_add_string(json_object *obj, const char *key, const char *value)
{
    json_object_object_add(obj, key, value ? json_object_new_string(value) : NULL);
}

void cli_json_add_int(json_object *obj, const char *key, int64_t value)
{
    json_object_object_add(obj, key, json_object_new_int64(value));
}

json_object *cli_json_key(const char *name, uint8_t provider_id, const parsec_key_attributes *a)
{
    static const char *const usage_names[] = {
        "export",       "copy",           "cache",     "encrypt",     "decrypt",
        "sign_message", "verify_message", "sign_hash", "verify_hash", "derive",
    };
    json_object *key = json_object_new_object();
    json_object *usage = json_object_new_array();
    char alg[64];

    if (key == NULL || usage == NULL) {
        json_object_put(key);
        json_object_put(usage);
        return NULL;
    }
    cli_alg_describe(&a->alg, alg, sizeof(alg));
    cli_json_add_string(key, "name", name);
    cli_json_add_int(key, "provider_id", provider_id);
    cli_json_add_string(key, "provider", parsec_provider_short_name(provider_id));
    cli_json_add_string(key, "type", cli_key_type_name(a));
    if (a->type == PARSEC_KEY_TYPE_ECC_KEY_PAIR || a->type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY)
        cli_json_add_string(key, "ecc_family", cli_ecc_family_name(a->ecc_family));
    cli_json_add_int(key, "bits", a->bits);
    cli_json_add_string(key, "algorithm", alg);
    for (unsigned i = 0; i < sizeof(usage_names) / sizeof(usage_names[0]); i++) {
        if (a->usage & (1u << i))
            json_object_array_add(usage, json_object_new_string(usage_names[i]));
    }
    json_object_object_add(key, "usage", usage);
    return key;
}

json_object *cli_json_entry(unsigned int id, const char *name, const char *description,
                            uint32_t maj, uint32_t min, uint32_t rev)
{
    json_object *e = json_object_new_object();
    char version[40];

    if (e == NULL)
        return NULL;
    snprintf(version, sizeof(version), "%u.%u.%u", maj, min, rev);
    cli_json_add_int(e, "id", id);
    cli_json_add_string(e, "name", name);
    cli_json_add_string(e, "description", description);
    cli_json_add_string(e, "version", version);
    return e;
}
