/* SPDX-License-Identifier: MIT */
/* Reading secrets (passwords, tokens, keys, webhook URLs) from files only their owner can read,
 * and checking that a config file holding a secret inline is as private. Shared by the agent,
 * the collector and botpulse-ctl; no dependency but libc, so botpulse-ctl links it alone.
 *
 * "Private" means a regular file whose mode gives its group and others nothing (0600, 0400):
 * a secret readable by a group is readable by every member and by every process running as
 * one. Files under $CREDENTIALS_DIRECTORY are taken as private whatever their mode bits say:
 * systemd places a unit's credentials there readable by that unit's user only (through an
 * ACL, which shows in the group bits). */
#ifndef BP_SECRET_H
#define BP_SECRET_H

#include <stddef.h>

#define BP_SECRET_MAX 4096 /* the largest secret file read (a PEM key fits) */

/* Reads the secret in path into out (size bytes, NUL-terminated): the file's content with
 * trailing blanks and newlines removed. Refused, with a message naming the file (and its mode,
 * and the chmod that fixes it) in err: not a regular file, group or world permissions, empty,
 * or longer than size - 1 bytes. 0, or -errno (-EPERM for the mode, -EINVAL for the content).
 * The secret itself never appears in err. */
int bp_secret_read_file(const char *path, char *out, size_t size, char *err, size_t errlen);

/* Copies the host of url ("https://user:pw@api.telegram.org:443/bot<TOKEN>/sendMessage" →
 * "api.telegram.org") into out: the one part of a URL that may hold a secret (a webhook's)
 * that logs may show. "?" when there is none. */
void bp_secret_url_host(const char *url, char *out, size_t size);

/* Checks that path, a config file that holds a secret inline (what names the secret, e.g.
 * "[mqtt] password", for the message), is private as above. 0, or -errno with the reason in
 * err (-EPERM: its mode lets others read it). */
int bp_secret_check_private(const char *path, const char *what, char *err, size_t errlen);

#endif
