/* SPDX-License-Identifier: Apache-2.0 */
/* parsecd: a Parsec-compatible key service. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
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

#if PSD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#else
/* Without libsystemd the service runs as Type=simple; nothing to tell. */
static int sd_notify(int unset_environment, const char *state)
{
    return 0;
}
#endif

/*
 * Every backend this binary was built with: software inside parsecd, the
 * others as modules loaded only when configured (see service/meson.build).
 */
typedef struct psd_backend_entry {
    const char *name;
    const psd_backend_ops *builtin;
    const char *module; /* file in the module directory */
    const char *symbol; /* its psd_backend_ops table */
} psd_backend_entry;

static const psd_backend_entry psd_backends[] = {
    {"software", &psd_software_backend, NULL, NULL},
#if PSD_HAVE_PKCS11
    {"pkcs11", NULL, "psd-pkcs11.so", "psd_pkcs11_backend"},
#endif
#if PSD_HAVE_TPM
    {"tpm", NULL, "psd-tpm.so", "psd_tpm_backend"},
#endif
};

static void psd_usage(FILE *out)
{
    fprintf(out, "Usage: parsecd -c CONFIG [-f] [--log-level LEVEL]\n"
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
                 "Stops cleanly on SIGTERM or SIGINT. SIGHUP reloads the log level and the\n"
                 "admins and reopens the log file. Logs go to stderr unless [core] log_target\n"
                 "says otherwise. See parsecd(8) and parsecd.conf(5).\n");
}

static void psd_print_version(void)
{
    printf("parsecd %s\nbackends:", PARSEC_PROVIDER_VERSION);
    for (size_t i = 0; i < sizeof(psd_backends) / sizeof(psd_backends[0]); i++)
        printf("%s %s (%s%s)", i > 0 ? "," : "", psd_backends[i].name,
               psd_backends[i].module != NULL ? "module " : "built in",
               psd_backends[i].module != NULL ? psd_backends[i].module : "");
    printf("\nmodule folder: %s\n", PSD_MODULE_DIR);
    printf("systemd: socket activation, %s\n",
           PSD_HAVE_SYSTEMD ? "readiness notification (Type=notify)" : "no readiness notification");
}

/* Configuration errors come one per line; each gets the program's prefix. */
static void psd_print_errors(const char *err)
{
    const char *line = err;

    while (*line != '\0') {
        const char *end = strchr(line, '\n');
        int len = end != NULL ? (int)(end - line) : (int)strlen(line);

        fprintf(stderr, "parsecd: %.*s\n", len, line);
        line += len + (end != NULL);
    }
}

/*
 * The folder of the pkcs11 and tpm modules: PARSECD_MODULE_DIR (tests and
 * meson devenv run parsecd from the build tree), else [core] module_dir, else
 * the folder they install to. Whoever sets parsecd's environment could set
 * LD_PRELOAD as well, so the variable grants nothing new; secure_getenv keeps
 * a setuid or setgid parsecd from reading it. origin says which folder it is,
 * for error messages.
 */
static const char *psd_module_dir(const psd_config *cfg, const char **origin)
{
    const char *env = secure_getenv("PARSECD_MODULE_DIR");

    if (env != NULL && env[0] != '\0') {
        *origin = "comes from the environment variable PARSECD_MODULE_DIR: unset it, or point it";
        return env;
    }
    if (cfg->module_dir != NULL) {
        *origin = "comes from [core] module_dir: set it";
        return cfg->module_dir;
    }
    *origin = "is where the modules install (parsecd --version): install the module there, or "
              "set [core] module_dir";
    return PSD_MODULE_DIR;
}

/* Loads a backend module; NULL with a reason in err naming the file and the setting to change. */
static void *psd_open_module(const psd_config *cfg, const psd_backend_entry *b, char *path,
                             size_t pathlen, char *err, size_t errlen)
{
    const char *origin = NULL;
    const char *dir = psd_module_dir(cfg, &origin);
    void *handle = NULL;
    int fd;

    snprintf(path, pathlen, "%s/%s", dir, b->module);
    /* dlerror() has no errno: look first, so that a missing file says so plainly. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        const char *e_name = strerrorname_np(e);

        snprintf(err, errlen,
                 "cannot load the %s backend: %.300s: %s (%s). The folder %.300s %s to the "
                 "folder holding %s",
                 b->name, path, strerror(e), e_name != NULL ? e_name : "unknown errno", dir, origin,
                 b->module);
        goto done;
    }
    close(fd);
    /* Never unloaded: the module's libraries may have exit handlers of their own. */
    handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *why = dlerror(); /* names the file */

        snprintf(err, errlen, "cannot load the %s backend: %s", b->name,
                 why ? why : "dlopen failed");
    }
done:
    return handle;
}

/* The backend named in the configuration; NULL with a reason in err. */
static const psd_backend_ops *psd_find_backend(const psd_config *cfg, const char *name, char *err,
                                               size_t errlen)
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
        handle = psd_open_module(cfg, b, path, sizeof(path), err, errlen);
        if (handle == NULL)
            return NULL;
        ops = dlsym(handle, b->symbol);
        if (ops == NULL) {
            snprintf(err, errlen, "the %s backend module has no %s", name, b->symbol);
            return NULL;
        }
        if (ops->abi_version != PSD_BACKEND_ABI_VERSION) {
            snprintf(
                err, errlen,
                "the %s backend module %.300s was built for backend interface %u, this parsecd "
                "has interface %u: install the module from the same build as parsecd",
                name, path, ops->abi_version, (unsigned)PSD_BACKEND_ABI_VERSION);
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
    char err[1024];

    for (size_t i = 0; i < cfg->n_providers; i++) {
        const psd_backend_ops *ops = psd_find_backend(cfg, cfg->providers[i], err, sizeof(err));
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
        p->n_opcodes =
            ops->opcodes(p->state, p->opcodes, sizeof(p->opcodes) / sizeof(p->opcodes[0]));
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

        if (strcmp(ops->name, "tpm") == 0 && ops->seal_secret != NULL && ops->unseal_secret != NULL)
            return psd_kek_load_sealed(ops, svc->providers[i].state, cfg->kek_tpm_file, kek, err,
                                       errlen);
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

static int psd_strings_differ(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* The settings SIGHUP cannot apply: the first one that changed, or NULL. */
static const char *psd_changed_setting(const psd_config *a, const psd_config *b)
{
    if (psd_strings_differ(a->socket_path, b->socket_path))
        return "[listener] socket_path";
    if (a->socket_mode != b->socket_mode)
        return "[listener] socket_mode";
    if (psd_strings_differ(a->socket_owner, b->socket_owner))
        return "[listener] socket_owner";
    if (psd_strings_differ(a->socket_group, b->socket_group))
        return "[listener] socket_group";
    if (a->timeout_ms != b->timeout_ms)
        return "[listener] timeout_ms";
    if (a->keepalive_max != b->keepalive_max || a->keepalive_idle_ms != b->keepalive_idle_ms)
        return "[listener] keepalive_max or keepalive_idle_ms";
    if (a->threads != b->threads)
        return "[core] threads";
    if (a->body_len_limit != b->body_len_limit || a->buffer_size_limit != b->buffer_size_limit)
        return "[core] body_len_limit or buffer_size_limit";
    if (a->log_target != b->log_target || psd_strings_differ(a->log_file, b->log_file))
        return "[core] log_target or log_file";
    if (psd_strings_differ(a->module_dir, b->module_dir))
        return "[core] module_dir";
    if (a->n_providers != b->n_providers)
        return "[core] providers";
    for (size_t i = 0; i < a->n_providers; i++)
        if (strcmp(a->providers[i], b->providers[i]) != 0)
            return "[core] providers";
    if (a->auth_type != b->auth_type)
        return "[authenticator] type";
    if (strcmp(a->key_store_path, b->key_store_path) != 0)
        return "[key_store] path";
    for (size_t i = 0; i < PSD_MAX_BACKENDS; i++) {
        const psd_backend_conf *x = &a->backends[i], *y = &b->backends[i];

        int differ = x->count != y->count;

        for (size_t j = 0; j < x->count && !differ; j++)
            differ = strcmp(x->items[j].key, y->items[j].key) != 0 ||
                     strcmp(x->items[j].value, y->items[j].value) != 0;
        if (differ)
            return i == 0 ? "[software]" : i == 1 ? "[pkcs11]" : "[tpm]";
    }
    return NULL;
}

/*
 * SIGHUP: log level and admins take effect at once and the log file is
 * reopened; anything else that changed is reported as needing a restart.
 * A configuration with errors changes nothing.
 */
static void psd_reload(const char *path, psd_config *live, int level_from_command_line)
{
    psd_config fresh;
    const char *changed;
    char err[2048];

    if (psd_config_load(path, &fresh, err, sizeof(err)) != 0) {
        for (char *nl = strchr(err, '\n'); nl != NULL; nl = strchr(nl, '\n'))
            *nl = ';';
        psd_log(PSD_LOG_ERROR, "SIGHUP: %s not reloaded, the running configuration stays: %s", path,
                err);
        goto done;
    }
    if (psd_log_reopen(live, err, sizeof(err)) != 0)
        psd_log(PSD_LOG_ERROR, "SIGHUP: %s", err);
    live->log_level = fresh.log_level;
    if (!level_from_command_line)
        psd_log_set_level(fresh.log_level);
    psd_config_swap_admins(live, &fresh);
    psd_log(PSD_LOG_INFO, "SIGHUP: configuration %s reloaded (log level %s, %zu admins)", path,
            level_from_command_line ? "from --log-level" : psd_log_level_name(fresh.log_level),
            live->n_admins);
    changed = psd_changed_setting(live, &fresh);
    if (changed != NULL)
        psd_log(PSD_LOG_WARN,
                "SIGHUP: %s changed: restart parsecd to apply it (only log_level and admins"
                " are reloaded)",
                changed);
done:
    psd_config_free(&fresh);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"foreground", no_argument, NULL, 'f'},
        {"log-level", required_argument, NULL, 'l'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {"rewrap", no_argument, NULL, 'R'},
        {"old-kek-file", required_argument, NULL, 'K'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *log_level = NULL, *old_kek = NULL;
    int rewrap = 0;
    psd_service svc = {0};
    psd_kek kek = {0};
    psd_listener *listener = NULL;
    psd_config cfg;
    sigset_t sigs;
    char err[2048];
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
            psd_print_version();
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
        fprintf(stderr, "parsecd: unknown log level '%s' (error, warn, info, debug)\n", log_level);
        return 2;
    }
    if (psd_config_load(config_path, &cfg, err, sizeof(err)) != 0) {
        psd_print_errors(err);
        psd_config_free(&cfg);
        return 2;
    }
    psd_log_set_level(log_level != NULL ? psd_log_level_from_name(log_level) : cfg.log_level);
    if (psd_log_start(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "parsecd: %s\n", err);
        psd_config_free(&cfg);
        return 2;
    }
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
            cfg.auth_type == PARSEC_AUTH_DIRECT ? "direct" : "unix-peer-credentials", cfg.threads);
    sd_notify(0, "READY=1");

    for (;;) {
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            sd_notify(0, "RELOADING=1");
            psd_reload(config_path, &cfg, log_level != NULL);
            sd_notify(0, "READY=1");
            continue;
        }
        sd_notify(0, "STOPPING=1");
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
    psd_log_stop();
    psd_config_free(&cfg);
    return rc;
}
