/* SPDX-License-Identifier: Apache-2.0 */
/* Folders parsecd creates for its socket and key store, and who it runs as (for errors). */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "psd_service.h"

const char *psd_running_user(char *buf, size_t len)
{
    struct passwd pw, *found = NULL;
    char pwbuf[1024];
    uid_t uid = geteuid();

    if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &found) == 0 && found != NULL)
        snprintf(buf, len, "user %s, uid %u", found->pw_name, (unsigned int)uid);
    else
        snprintf(buf, len, "uid %u", (unsigned int)uid);
    return buf;
}

int psd_make_parent_dirs(const char *path, mode_t mode, const char *what, char *err, size_t errlen)
{
    char *copy = strdup(path), user[160];
    struct stat st;
    int rc = -1;

    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (char *p = copy + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, mode) == 0) {
            /* Our umask (077) must not make the socket folder untraversable for clients. */
            if (chmod(copy, mode) != 0) {
                snprintf(err, errlen, "cannot set mode %04o on %s (for %s): %s", (unsigned int)mode,
                         copy, what, strerror(errno));
                goto done;
            }
            psd_log(PSD_LOG_INFO, "created directory %s (mode %04o) for %s", copy,
                    (unsigned int)mode, what);
        } else if (errno != EEXIST) {
            const char *why = strerror(errno);

            snprintf(err, errlen,
                     "cannot create directory %s (for %s): %s (parsecd runs as %s); create it"
                     " writable for that user or change the setting",
                     copy, what, why, psd_running_user(user, sizeof(user)));
            goto done;
        } else if (stat(copy, &st) == 0 && !S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a directory (needed for %s)", copy, what);
            goto done;
        }
        *p = '/';
    }
    rc = 0;
done:
    free(copy);
    return rc;
}
