/* SPDX-License-Identifier: MIT */
/* Fuzzes the collector's config loading (collector/settings.c over common/config.c and inih)
 * with any file: a load fails with a message, or every bot and account section it kept is
 * found again and resolves to limits and a recovery policy that pass the load's own checks.
 * Input: the bytes of collector.ini. A file naming [http] token_file is skipped: that key
 * makes the loader read another file, named by the input, which a fuzzer must not do. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "settings.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fuzz_file file;
static struct col_settings *cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_log_everything();
    fuzz_file_open(&file);
    cfg = malloc(sizeof(*cfg));
    if (!cfg)
        abort();
    return 0;
}

static void check_limits(const struct col_settings *s, const char *bot, const char *account)
{
    struct col_rule_limits l;
    struct col_recovery_policy p;
    col_settings_limits_for(s, bot, account, &l);
    col_settings_recovery_for(s, bot, account, &p);
    FUZZ_CHECK(l.trade_stale_ms < l.trade_stopped_ms, "bot %s: stale %lld >= stopped %lld", bot,
               (long long)l.trade_stale_ms, (long long)l.trade_stopped_ms);
    FUZZ_CHECK(l.nmetric_rules >= 0 && l.nmetric_rules <= COL_METRIC_RULES_MAX, "%d rules",
               l.nmetric_rules);
}

static void check_loaded(const struct col_settings *s)
{
    FUZZ_CHECK(bp_id_is_valid(s->id), "id '%s'", s->id);
    FUZZ_CHECK(s->mqtt_client_id[0] != '\0', "no client id");
    check_limits(s, "no-such-bot", "");
    for (size_t i = 0; i < s->nbots; i++) {
        const struct col_bot_override *o = s->bots[i];
        FUZZ_CHECK(col_settings_find_bot(s, o->name) == o, "bot '%s' not found", o->name);
        FUZZ_CHECK(i == 0 || strcmp(s->bots[i - 1]->name, o->name) < 0, "bots not sorted");
        check_limits(s, o->name, "");
    }
    for (size_t i = 0; i < s->naccounts; i++)
        check_limits(s, "no-such-bot", s->accounts[i]->name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char skip[] = "token_file";
    if (memmem(data, size, skip, sizeof(skip) - 1))
        return -1;
    char err[512];
    memset(err, 0x5a, sizeof(err));
    int rc = col_settings_load(fuzz_file_write(&file, data, size), cfg, err, sizeof(err));
    if (rc == 0) {
        check_loaded(cfg);
    } else {
        fuzz_check_refusal(rc, err, sizeof(err));
    }
    col_settings_cleanup(cfg);
    return 0;
}
