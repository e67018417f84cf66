/* parsecd: a Parsec-compatible key service. */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "parsec_types.h"
#include "psd_kek.h"
#include "psd_service.h"

/*
 * Every backend this binary was built with: software inside parsecd, the
 * others as modules loaded only when configured (see service/meson.build).
 */
typedef struct psd_backend_entry {
    const char *name;
    const psd_backend_ops *builtin;
    const char *module;  /* file in the module directory */
    const char *symbol;  /* its psd_backend_ops table */
} psd_backend_entry;

static const psd_backend_entry psd_backends[] = {
    {"software", &psd_software_backend, NULL, NULL},
#if PSD_HAVE_PKCS11 && PSD_LINK_PKCS11
    {"pkcs11", NULL, "psd-pkcs11.so", "psd_pkcs11_backend"},
#endif
#if PSD_HAVE_TPM && PSD_LINK_TPM
    {"tpm", NULL, "psd-tpm.so", "psd_tpm_backend"},
#endif
};

psd_provider *psd_service_provider(psd_service *svc, uint8_t id)
{
    for (size_t i = 0; i < svc->n_providers; i++)
        if (svc->providers[i].ops->provider_id == id)
            return &svc->providers[i];
    return NULL;
}

static void psd_usage(FILE *out)
{
    fprintf(out,
            "Usage: parsecd -c CONFIG [-f] [--log-level LEVEL]\n"
            "A Parsec-compatible key service on a Unix socket.\n\n"
            "  -c, --config FILE      configuration file (see parsecd.conf.example)\n"
            "  -f, --foreground       stay in the foreground (parsecd never daemonizes;\n"
            "                         accepted for compatibility)\n"
            "  -l, --log-level LEVEL  error, warn, info or debug (overrides the file)\n"
            "      --rewrap           rewrite every stored key under the configured\n"
            "                         key-encryption key (plaintext if none), then exit;\n"
            "                         parsecd must be stopped\n"
            "      --old-kek-file F   with --rewrap: the KEK some keys are still under\n"
            "  -V, --version          print the version and exit\n"
            "  -h, --help             print this help and exit\n\n"
            "Stops cleanly on SIGTERM or SIGINT. Logs go to stderr.\n");
}

/*
 * The build tree's modules for a parsecd run from the build tree (tests,
 * benchmarks), else the installed ones. Only these two fixed directories:
 * nothing from the environment decides what code a root daemon loads.
 */
static const char *psd_module_dir(void)
{
    char exe[PATH_MAX], build[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;

    if (n <= 0)
        return PSD_MODULE_DIR;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (slash != NULL)
        *slash = '\0';
    if (realpath(PSD_BUILD_MODULE_DIR, build) != NULL && strcmp(exe, build) == 0)
        return PSD_BUILD_MODULE_DIR;
    return PSD_MODULE_DIR;
}

/* The backend named in the configuration; NULL with a reason in err. */
static const psd_backend_ops *psd_find_backend(const char *name, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(psd_backends) / sizeof(psd_backends[0]); i++) {
        const psd_backend_entry *b = &psd_backends[i];
        char path[PATH_MAX];
        const psd_backend_ops *ops;
        void *handle;

        if (strcmp(b->name, name) != 0)
            continue;
        if (b->builtin != NULL)
            return b->builtin;
        snprintf(path, sizeof(path), "%s/%s", psd_module_dir(), b->module);
        /* Never unloaded: the module's libraries may have exit handlers of their own. */
        handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL) {
            const char *why = dlerror(); /* names the file */

            snprintf(err, errlen, "cannot load the %s backend: %s", name, why ? why : "dlopen failed");
            return NULL;
        }
        ops = dlsym(handle, b->symbol);
        if (ops == NULL) {
            snprintf(err, errlen, "the %s backend module has no %s", name, b->symbol);
            return NULL;
        }
        psd_log(PSD_LOG_DEBUG, "backend module %s loaded", path);
        return ops;
    }
    snprintf(err, errlen, "backend '%s' is not built into this parsecd", name);
    return NULL;
}

static int psd_start_backends(psd_service *svc, const psd_config *cfg)
{
    char err[512];

    for (size_t i = 0; i < cfg->n_providers; i++) {
        const psd_backend_ops *ops = psd_find_backend(cfg->providers[i], err, sizeof(err));
        psd_provider *p = &svc->providers[svc->n_providers];
        psd_settings settings;

        if (ops == NULL) {
            fprintf(stderr, "parsecd: %s\n", err);
            return -1;
        }
        psd_config_backend_settings(cfg, ops->name, &settings);
        err[0] = '\0';
        if (ops->init(&p->state, &settings, err, sizeof(err)) != 0) {
            fprintf(stderr, "parsecd: backend '%s' failed to start: %s\n", ops->name,
                    err[0] != '\0' ? err : "unknown error");
            return -1;
        }
        p->ops = ops;
        p->n_opcodes = ops->opcodes(p->state, p->opcodes,
                                    sizeof(p->opcodes) / sizeof(p->opcodes[0]));
        svc->n_providers++;
        psd_log(PSD_LOG_INFO, "backend %s started (provider id %u, %zu operations)", ops->name,
                ops->provider_id, p->n_opcodes);
    }
    return 0;
}

static void psd_stop_backends(psd_service *svc)
{
    for (size_t i = svc->n_providers; i-- > 0;)
        if (svc->providers[i].ops->fini != NULL)
            svc->providers[i].ops->fini(svc->providers[i].state);
    svc->n_providers = 0;
}

/* [key_store] kek_tpm_file: the KEK sealed by the tpm backend (made at the first start). */
static int psd_sealed_kek(psd_service *svc, const psd_config *cfg, psd_kek *kek, char *err,
                          size_t errlen)
{
    for (size_t i = 0; i < svc->n_providers; i++) {
        const psd_backend_ops *ops = svc->providers[i].ops;

        if (strcmp(ops->name, "tpm") == 0 && ops->seal_secret != NULL &&
            ops->unseal_secret != NULL)
            return psd_kek_load_sealed(ops, svc->providers[i].state, cfg->kek_tpm_file, kek,
                                       err, errlen);
    }
    snprintf(err, errlen, "kek_tpm_file needs the tpm backend: add tpm to [core] providers");
    return -1;
}

/* Keys held by a backend that is not configured any more stay stored but unusable. */
static void psd_report_orphans(psd_service *svc, const psd_config *cfg)
{
    psd_key_entry **keys = NULL;
    size_t n = 0, orphans = 0;

    if (psd_keystore_list(svc->store, cfg->auth_type, NULL, &keys, &n) != PARSEC_SUCCESS)
        return;
    for (size_t i = 0; i < n; i++)
        orphans += psd_service_provider(svc, keys[i]->provider_id) == NULL;
    psd_keystore_list_free(svc->store, keys, n);
    if (orphans > 0)
        psd_log(PSD_LOG_WARN, "%zu stored keys belong to backends that are not configured",
                orphans);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"foreground", no_argument, NULL, 'f'},
        {"log-level", required_argument, NULL, 'l'}, {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'}, {"rewrap", no_argument, NULL, 'R'},
        {"old-kek-file", required_argument, NULL, 'K'}, {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *log_level = NULL, *old_kek = NULL;
    int rewrap = 0;
    psd_service svc = {0};
    psd_kek kek = {0};
    psd_listener *listener = NULL;
    psd_config cfg;
    sigset_t sigs;
    char err[512];
    int c, sig, rc = 1;

    while ((c = getopt_long(argc, argv, "c:fl:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'f':
            break;
        case 'l':
            log_level = optarg;
            break;
        case 'V':
            printf("parsecd %s\n", PARSEC_PROVIDER_VERSION);
            return 0;
        case 'h':
            psd_usage(stdout);
            return 0;
        case 'R':
            rewrap = 1;
            break;
        case 'K':
            old_kek = optarg;
            break;
        default:
            psd_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "parsecd: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (config_path == NULL) {
        fprintf(stderr, "parsecd: no configuration file given (use -c CONFIG)\n");
        return 2;
    }
    if (log_level != NULL && psd_log_level_from_name(log_level) < 0) {
        fprintf(stderr, "parsecd: unknown log level '%s' (error, warn, info, debug)\n",
                log_level);
        return 2;
    }
    if (psd_config_load(config_path, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "parsecd: %s\n", err);
        psd_config_free(&cfg);
        return 2;
    }
    psd_log_set_level(log_level != NULL ? psd_log_level_from_name(log_level) : cfg.log_level);
    svc.cfg = &cfg;
    /*
     * The machine's openssl.cnf may activate the Parsec OpenSSL provider,
     * which would call back into this very service: use OpenSSL's built-in
     * defaults only.
     */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);

    /* Files we create (key store, WAL) are private to the service user. */
    umask(077);
    signal(SIGPIPE, SIG_IGN);
    /* Every thread inherits the mask; only the main thread takes these signals. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if (rewrap || old_kek != NULL) {
        if (!rewrap) {
            fprintf(stderr, "parsecd: --old-kek-file only goes with --rewrap\n");
            rc = 2;
        } else if ((cfg.kek_tpm_file != NULL &&
                    (psd_start_backends(&svc, &cfg) != 0 ||
                     psd_sealed_kek(&svc, &cfg, &kek, err, sizeof(err)) != 0)) ||
                   psd_keystore_rewrap(&cfg, kek.present ? &kek : NULL, old_kek, err,
                                       sizeof(err)) != 0) {
            fprintf(stderr, "parsecd: --rewrap: %s\n", err);
        } else {
            rc = 0;
        }
        psd_kek_clear(&kek);
        psd_stop_backends(&svc);
        psd_config_free(&cfg);
        return rc;
    }
    /* Socket problems are configuration errors: find them before starting anything. */
    if (psd_listener_open(&cfg, &listener, err, sizeof(err)) != 0) {
        fprintf(stderr, "parsecd: %s\n", err);
        goto done;
    }
    if (psd_start_backends(&svc, &cfg) != 0)
        goto done;
    if ((cfg.kek_tpm_file != NULL && psd_sealed_kek(&svc, &cfg, &kek, err, sizeof(err)) != 0) ||
        psd_keystore_open(&cfg, kek.present ? &kek : NULL, &svc.store, err, sizeof(err)) != 0) {
        fprintf(stderr, "parsecd: %s\n", err);
        goto done;
    }
    psd_kek_clear(&kek);
    psd_reconcile(&svc);
    psd_report_orphans(&svc, &cfg);
    if (psd_listener_start(listener, &svc, cfg.threads, err, sizeof(err)) != 0) {
        fprintf(stderr, "parsecd: %s\n", err);
        goto done;
    }
    psd_log(PSD_LOG_INFO, "parsecd %s listening on %s (%s authentication, %u threads)",
            PARSEC_PROVIDER_VERSION, cfg.socket_path,
            cfg.auth_type == PARSEC_AUTH_DIRECT ? "direct" : "unix-peer-credentials",
            cfg.threads);

    for (;;) {
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            psd_log(PSD_LOG_INFO, "SIGHUP ignored: restart parsecd to apply a new configuration");
            continue;
        }
        psd_log(PSD_LOG_INFO, "%s received: finishing requests in flight",
                sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
    rc = 0;
done:
    psd_kek_clear(&kek);
    psd_listener_stop(listener);
    psd_stop_backends(&svc);
    psd_keystore_close(svc.store);
    if (rc == 0)
        psd_log(PSD_LOG_INFO, "stopped");
    psd_config_free(&cfg);
    return rc;
}
