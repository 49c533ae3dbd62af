/* SPDX-License-Identifier: MIT */
/* Fuzzes the agent's config loading (agent/agent_config.c over common/config.c and inih) with
 * any file: a load either fails with a message or yields a config that holds what
 * agent_config_finish promises, and that a reload of the same file finds unchanged. With a
 * second file, it is the SIGHUP reload (agent_loop.c): when no key needing a restart changed,
 * what agent_config_apply_live leaves running is the new file, key for key.
 * Input: the bytes of agent.ini, optionally "\f" and the bytes of the reloaded one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_config.h"
#include "fuzz_support.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fuzz_file file;
static struct agent_config *cfg, *neu, *cur;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_log_everything();
    fuzz_file_open(&file);
    cfg = malloc(sizeof(*cfg));
    neu = malloc(sizeof(*neu));
    cur = malloc(sizeof(*cur));
    if (!cfg || !neu || !cur)
        abort();
    return 0;
}

static void check_loaded(const struct agent_config *c)
{
    FUZZ_CHECK(bp_id_is_valid(c->id), "id '%s'", c->id);
    FUZZ_CHECK(c->nbots >= 1 && c->nbots <= BP_AGENT_MAX_BOTS, "%d bots", c->nbots);
    FUZZ_CHECK(c->nmounts >= 1 && c->nmounts <= AGENT_MAX_MOUNTS, "%d mounts", c->nmounts);
    FUZZ_CHECK(c->notify_socket[0] != '\0', "no notify socket");
    FUZZ_CHECK(c->state_dir[0] == '/', "state_dir '%s'", c->state_dir);
    for (int i = 0; i < c->nmounts; i++)
        FUZZ_CHECK(c->mounts[i][0] == '/', "mount '%s'", c->mounts[i]);
    for (int i = 0; i < c->nbots; i++) {
        FUZZ_CHECK(bp_id_is_valid(c->bots[i].name), "bot '%s'", c->bots[i].name);
        FUZZ_CHECK(agent_config_find_bot(c, c->bots[i].name) == i, "bot %d not found", i);
    }
    struct agent_config_diff d;
    agent_config_diff(c, c, &d);
    FUZZ_CHECK(d.restart_key[0] == '\0' && !d.state_changed && !d.agent_changed,
               "a config differs from itself: '%s'", d.restart_key);
    FUZZ_CHECK(d.unchanged == c->nbots && d.added + d.removed + d.changed == 0,
               "bots of a config differ from themselves");
}

/* Loads one file into c: 0 with its properties checked, or the error checked. */
static int load(const uint8_t *data, size_t size, struct agent_config *c)
{
    char err[512];
    memset(err, 0x5a, sizeof(err));
    int rc = agent_config_load(fuzz_file_write(&file, data, size), c, err, sizeof(err));
    if (rc == 0) {
        check_loaded(c);
    } else {
        fuzz_check_refusal(rc, err, sizeof(err));
    }
    return rc;
}

/* The reload from old to neu: the diff adds up, and applying it live leaves nothing to apply. */
static void check_reload(const struct agent_config *old, const struct agent_config *n)
{
    struct agent_config_diff d;
    agent_config_diff(old, n, &d);
    FUZZ_CHECK(d.added + d.changed + d.unchanged == n->nbots, "bots do not add up");
    FUZZ_CHECK(d.removed == old->nbots - d.changed - d.unchanged, "%d removed", d.removed);
    if (d.restart_key[0])
        return; /* the agent refuses it and says to restart */
    memcpy(cur, old, sizeof(*cur));
    agent_config_apply_live(cur, n);
    agent_config_diff(cur, n, &d);
    FUZZ_CHECK(d.restart_key[0] == '\0' && !d.agent_changed && !d.state_changed,
               "applied live, yet differs: '%s'", d.restart_key);
    FUZZ_CHECK(d.unchanged == n->nbots && d.added + d.removed + d.changed == 0,
               "applied live, yet bots differ");
    for (int i = 0; i < n->nbots; i++)
        FUZZ_CHECK(d.old_index[i] == i && d.same[i], "bot %d differs after the reload", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *second;
    size_t second_len, first_len;
    fuzz_split(data, size, '\f', &second, &second_len, &first_len);
    int rc = load(data, first_len, cfg);
    if (second && load(second, second_len, neu) == 0 && rc == 0)
        check_reload(cfg, neu);
    return 0;
}
