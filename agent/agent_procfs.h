/* SPDX-License-Identifier: MIT */
/* Small helpers for reading /proc-style text files without stdio or heap: whole small files
 * into a caller's buffer, and big ones (/proc/stat) line by line through a fixed window. */
#ifndef AGENT_PROCFS_H
#define AGENT_PROCFS_H

#include <stddef.h>
#include <stdint.h>

/* Reads up to size-1 bytes of path into buf and NUL-terminates it; *len gets the count.
 * 0, or -errno (-ENOENT when the file, e.g. a process, is gone). A longer file is truncated. */
int agent_procfs_read(const char *path, char *buf, size_t size, size_t *len);

/* Calls fn for every line of path (without its '\n', NUL-terminated) until fn returns non-zero,
 * which is then returned. Lines longer than 511 bytes are skipped (the "intr" line of
 * /proc/stat). 0 at the end of the file, or -errno. */
int agent_procfs_foreach_line(const char *path, int (*fn)(void *ctx, char *line, size_t len),
                              void *ctx);

/* Same over a buffer: the line-splitting used by the buffer parsers. */
int agent_procfs_buf_foreach_line(const char *buf, size_t len,
                                  int (*fn)(void *ctx, char *line, size_t len), void *ctx);

/* Parses an unsigned decimal at *p, advancing *p past it; -EINVAL if there is no digit or it
 * overflows. Leading blanks are skipped. */
int agent_procfs_parse_u64(const char **p, const char *end, uint64_t *out);

#endif
