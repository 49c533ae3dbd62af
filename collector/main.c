/* SPDX-License-Identifier: MIT */
/* botpulse-collector: start-up, wiring (MQTT → ingest → rules thread → store/MQTT), shutdown. */
#include "clock.h"
#include "cluster.h"
#include "engine.h"
#include "http_server.h"
#include "echo.h"
#include "ingest.h"
#include "intent.h"
#include "log.h"
#include "mqtt.h"
#include "outbox_live.h"
#include "owners.h"
#include "publish.h"
#include "queue.h"
#include "sdnotify.h"
#include "secret.h"
#include "settings.h"
#include "sign.h"
#include "store.h"
#include "watchdog.h"
#include "store_load.h"
#include "sinks.h"
#include "takeover.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

/* The rules thread is woken when this many messages wait, or this long after the first. */
#define RULES_BATCH 256
#define RULES_LINGER_MS 2

struct collector {
    struct col_settings cfg;
    struct bp_queue *queue;
    struct col_ingest *ingest;
    struct col_echo *echo; /* NULL: [mqtt] echo_interval = 0 */
    struct col_store *store;
    struct bp_mqtt *mqtt;
    struct col_outbox *outbox; /* what the engine says: to MQTT, the store, the alert sinks */
    struct col_engine *engine;
    struct col_sinks *sinks; /* alert sinks ([webhook], [sink NAME]); NULL: none */
    struct col_http_server *http;
    struct col_owners *owners;     /* [cluster]: who may act for which shard; NULL: all ours */
    struct col_cluster *cluster;   /* [cluster]: the thread holding our shards' locks */
    struct bp_sdnotify sd;         /* systemd: off unless $NOTIFY_SOCKET */
    struct col_watchdog *watchdog; /* READY=1, WATCHDOG=1 once the rules thread answers */
    sigset_t signals;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: botpulse-collector -c FILE [--check-config]\n"
               "       botpulse-collector keygen SECRET_KEY_FILE   (prints the public key)\n"
               "       botpulse-collector --version\n"
               "Watches a fleet of trading bots over MQTT; see the README for the config.\n");
}

/* Blocks the stop signals in every thread (Paho's inherit the mask); one thread waits. */
static void *signal_thread(void *arg)
{
    struct collector *c = arg;
    int sig = 0;
    while (sigwait(&c->signals, &sig) == 0) {
        if (sig == SIGHUP) {
            BP_INFO("main", "SIGHUP: config reload is not supported yet; restart to apply");
            continue;
        }
        BP_INFO("main", "signal %d: stopping", sig);
        bp_sdnotify_send(&c->sd, "STOPPING=1\nSTATUS=stopping");
        stop_requested = 1;
        bp_queue_wake(c->queue);
        break;
    }
    return NULL;
}

/* Says the collector's own state, retained: online, or offline before a clean stop. */
static void say_state(struct collector *c, bool online)
{
    struct col_pub p;
    if (col_pub_collector_state(&p, c->cfg.topic_root, c->cfg.id, c->cfg.cluster_enabled, online,
                                bp_wall_ms()) == 0)
        col_pub_send(c->mqtt, &p);
}

static void on_connected(void *ctx, bool reconnect)
{
    struct collector *c = ctx;
    say_state(c, true);
    col_ingest_push_control(c->ingest, COL_EV_CONNECTED);
}

static void on_lost(void *ctx, const char *cause)
{
    struct collector *c = ctx;
    col_ingest_push_control(c->ingest, COL_EV_DISCONNECTED);
}

static void on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct collector *c = ctx;
    if (c->echo && col_echo_on_message(c->echo, topic, payload, len))
        return;
    col_ingest_on_message(c->ingest, topic, payload, len);
}

static int start_mqtt(struct collector *c, char *will)
{
    char will_topic[256];
    col_pub_collector_topic(will_topic, sizeof(will_topic), c->cfg.topic_root, c->cfg.id,
                            c->cfg.cluster_enabled, "state");
    struct bp_mqtt_opts o = {
        .url = c->cfg.mqtt_url,
        .client_id = c->cfg.mqtt_client_id,
        .username = c->cfg.mqtt_username,
        .password = c->cfg.mqtt_password,
        .ca_file = c->cfg.mqtt_ca_file,
        .clean_session = false, /* the broker queues QoS 1 trades while we are away */
        .will_topic = will_topic,
        .will_payload = will,
        .will_qos = 1,
        .will_retain = true,
        .max_buffered = 100000, /* status and alerts published while reconnecting */
        .on_message = on_message,
        .on_connected = on_connected,
        .on_lost = on_lost,
        .ctx = c,
    };
    return bp_mqtt_new(&o, &c->mqtt);
}

static int subscribe_fleet(struct collector *c)
{
    char filter[256];
    snprintf(filter, sizeof(filter), "%s/agents/+/state", c->cfg.topic_root);
    int rc = bp_mqtt_subscribe(c->mqtt, filter, 1);
    snprintf(filter, sizeof(filter), "%s/agents/+/results", c->cfg.topic_root);
    if (rc == 0)
        rc = bp_mqtt_subscribe(c->mqtt, filter, 1);
    snprintf(filter, sizeof(filter), "%s/agents/+/batch", c->cfg.topic_root);
    if (rc == 0)
        rc = bp_mqtt_subscribe(c->mqtt, filter, 1);
    snprintf(filter, sizeof(filter), "%s/agents/+/bots/+/+", c->cfg.topic_root);
    if (rc == 0)
        rc = bp_mqtt_subscribe(c->mqtt, filter, 1);
    if (rc == 0 && c->echo) /* QoS 0: an echo is about now or never */
        rc = bp_mqtt_subscribe(c->mqtt, col_echo_topic(c->echo), 0);
    return rc;
}

/* Our echo through the broker ([mqtt] echo_interval; echo.h), if configured. */
static int start_echo(struct collector *c)
{
    if (c->cfg.mqtt_echo_interval_ms <= 0)
        return 0;
    struct col_echo_opts o = {.mqtt = c->mqtt,
                              .ingest = c->ingest,
                              .root = c->cfg.topic_root,
                              .id = c->cfg.id,
                              .interval_ms = c->cfg.mqtt_echo_interval_ms,
                              .timeout_ms = c->cfg.mqtt_echo_timeout_ms};
    int rc = col_echo_new(&o, &c->echo);
    if (rc < 0)
        BP_ERROR("main", "cannot set up the echo through the broker: %s", strerror(-rc));
    else /* a deadline that waits for an echo asks for one */
        col_engine_on_echo_request(c->engine, col_echo_request, c->echo);
    return rc;
}

static int start_store(struct collector *c)
{
    const struct col_settings *cfg = &c->cfg;
    int rc = col_store_migrate(cfg->db_conninfo, cfg->db_migrate_timeout_ms);
    if (rc < 0) {
        BP_ERROR("main", "cannot prepare the database schema: %s", strerror(-rc));
        return rc;
    }
    struct col_store_opts so = {
        .conninfo = cfg->db_conninfo,
        .spool_max = (size_t)cfg->db_spool_max,
        .batch_max = (int)cfg->db_batch_max,
        .retry_ms = (int)cfg->db_retry_ms,
        .maint_interval_ms = cfg->db_maintenance_interval_ms,
        .hist = {.partition_days = (int)cfg->db_partition_days,
                 .ahead_days = (int)cfg->db_partition_ahead_days,
                 .retention_ms = {[COL_RET_SAMPLES] = cfg->db_retention_samples_ms,
                                  [COL_RET_TRADES] = cfg->db_retention_trades_ms,
                                  [COL_RET_TRANSITIONS] = cfg->db_retention_transitions_ms,
                                  [COL_RET_ALERTS] = cfg->db_retention_alerts_ms,
                                  [COL_RET_COMMANDS] = cfg->db_retention_commands_ms}},
    };
    rc = col_store_new(&so, &c->store);
    return rc < 0 ? rc : col_store_start(c->store);
}

/* The alert sinks, each named in the log with its kind and filters (never its URL). */
static int start_sinks(struct collector *c)
{
    const struct col_settings *cfg = &c->cfg;
    if (cfg->nsinks == 0)
        return 0;
    int rc = col_sinks_new(cfg->sinks, cfg->nsinks, &c->sinks);
    if (rc == 0)
        rc = col_sinks_start(c->sinks);
    if (rc < 0) {
        BP_ERROR("main", "cannot start the alert sinks: %s", strerror(-rc));
        return rc;
    }
    for (size_t i = 0; i < cfg->nsinks; i++) {
        const struct col_sink_config *k = &cfg->sinks[i];
        char host[256]; /* the host only: the URL holds the receiver's secret (a token, a key) */
        bp_secret_url_host(k->url, host, sizeof(host));
        BP_INFO("main", "alerts also go to sink %s (%s on %s; %s%s%s)", k->name,
                col_sink_kind_name(k->kind), host,
                k->min_severity == COL_SEV_CRITICAL ? "critical only" : "warning and critical",
                k->naccounts ? "; accounts " : "", k->naccounts ? k->accounts[0] : "");
    }
    return 0;
}

static void restore_alert(void *ctx, const struct col_open_alert *a)
{
    struct col_engine *engine = ctx;
    int rc = col_engine_restore_alert(engine, a->bot, a->check, a->alert_id, a->severity,
                                      a->opened_at, bp_mono_ms());
    if (rc < 0)
        BP_WARN("main", "cannot restore alert %s of bot %s: %s", a->alert_id, a->bot,
                strerror(-rc));
}

static void restore_intent(void *ctx, const char *bot, const char *intended)
{
    enum col_intent i;
    int rc = col_intent_parse(intended, &i);
    if (rc == 0)
        rc = col_engine_restore_intent(ctx, bot, i, bp_mono_ms());
    if (rc < 0)
        BP_WARN("main", "cannot restore the intended state of bot %s: %s", bot, strerror(-rc));
}

static void restore_owner(void *ctx, const char *bot, const char *agent)
{
    int rc = col_engine_restore_owner(ctx, bot, agent);
    if (rc < 0)
        BP_WARN("main", "cannot restore the agent of bot %s: %s", bot, strerror(-rc));
}

static void restore_silence(void *ctx, const struct col_silence *sl)
{
    int rc = col_engine_restore_silence(ctx, sl, bp_mono_ms(), bp_wall_ms());
    if (rc < 0)
        BP_WARN("main", "cannot restore silence %s: %s", sl->id, strerror(-rc));
}

/* The cluster thread's hand-over: shards taken over, onto the rules thread's queue. */
static int push_takeover(void *ctx, struct col_takeover *t)
{
    struct collector *c = ctx;
    struct col_event *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return -ENOMEM;
    ev->kind = COL_EV_TAKEOVER;
    ev->takeover = t;
    ev->recv_mono = bp_mono_ms();
    ev->recv_wall = bp_wall_ms();
    int rc = bp_queue_push(c->queue, ev);
    if (rc < 0)
        free(ev); /* t stays the cluster thread's: it tries again next round */
    return rc;
}

/* With [cluster], the outbox says only what this collector may say (owners.h); the cluster
 * thread that decides it starts later, with the broker connection. */
static int fence_outbox(struct collector *c)
{
    const struct col_settings *cfg = &c->cfg;
    if (!cfg->cluster_enabled)
        return 0;
    c->owners = col_owners_new((int)cfg->cluster_shards, cfg->cluster_lease_ms);
    if (!c->owners)
        return -ENOMEM;
    col_outbox_fence(c->outbox, c->owners);
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) < 0)
        host[0] = '\0';
    struct col_cluster_opts o = {.id = cfg->id,
                                 .host = host,
                                 .conninfo = cfg->cluster_conninfo,
                                 .shards = (int)cfg->cluster_shards,
                                 .lease_ms = cfg->cluster_lease_ms,
                                 .round_ms = cfg->cluster_round_ms,
                                 .warmup_ms = cfg->cluster_warmup_ms,
                                 .evict_ms = cfg->cluster_evict_ms,
                                 .rebalance_max = (int)cfg->cluster_rebalance_max,
                                 .owners = c->owners,
                                 .on_takeover = push_takeover,
                                 .ctx = c};
    return col_cluster_new(&o, &c->cluster);
}

/* Everything from the config to a running rules loop; each step logs its own failure. */
static int run(struct collector *c)
{
    c->queue = bp_queue_new((size_t)c->cfg.queue_max);
    if (c->queue) /* one wake-up of the rules thread per burst, not one per message */
        bp_queue_set_batching(c->queue, RULES_BATCH, RULES_LINGER_MS);
    c->ingest = c->queue ? col_ingest_new(c->cfg.topic_root, c->queue) : NULL;
    if (!c->ingest || col_ingest_limit_agents(c->ingest, c->cfg.agent_rate, c->cfg.agent_burst) < 0)
        return -ENOMEM;
    pthread_t sig;
    int rc = -pthread_create(&sig, NULL, signal_thread, c);
    if (rc < 0)
        return rc;
    pthread_detach(sig);
    rc = start_store(c);
    if (rc < 0)
        return rc;
    char *will = col_encode_collector_state(c->cfg.id, false, bp_wall_ms());
    rc = will ? start_mqtt(c, will) : -ENOMEM;
    free(will);
    if (rc < 0)
        return rc;
    if ((rc = start_sinks(c)) < 0)
        return rc;
    struct col_outbox_live_opts oo = {.root = c->cfg.topic_root,
                                      .id = c->cfg.id,
                                      .per_id = c->cfg.cluster_enabled,
                                      .mqtt = c->mqtt,
                                      .store = c->store,
                                      .sinks = c->sinks};
    rc = col_outbox_live_new(&oo, &c->outbox);
    if (rc == 0)
        rc = fence_outbox(c);
    if (rc == 0)
        rc = col_engine_new(&c->cfg, c->outbox, c->ingest, &c->engine);
    if (rc < 0)
        return rc;
    rc = col_store_load_open_alerts(c->cfg.db_conninfo, restore_alert, c->engine);
    if (rc < 0)
        return rc;
    if (rc > 0)
        BP_INFO("main", "%d alert(s) left open by the previous run: restored", rc);
    rc = col_store_load_silences(c->cfg.db_conninfo, restore_silence, c->engine);
    if (rc < 0)
        return rc;
    if (rc > 0)
        BP_INFO("main", "%d silence(s) still in force: restored", rc);
    rc = col_store_load_intents(c->cfg.db_conninfo, restore_intent, c->engine);
    if (rc < 0)
        return rc;
    if (rc > 0)
        BP_INFO("main", "%d intended state(s) set by operators: restored", rc);
    rc = col_store_load_owners(c->cfg.db_conninfo, restore_owner, c->engine);
    if (rc < 0)
        return rc;
    if (rc > 0)
        BP_INFO("main", "%d bot(s) keep the agent they belong to", rc);
    if ((rc = start_echo(c)) < 0 || (rc = subscribe_fleet(c)) < 0 ||
        (rc = bp_mqtt_start(c->mqtt)) < 0 || (c->echo && (rc = col_echo_start(c->echo)) < 0))
        return rc;
    if (c->cluster && (rc = col_cluster_start(c->cluster)) < 0)
        return rc;
    if (c->cfg.http_listen[0]) {
        struct col_http_opts ho = {.cfg = &c->cfg,
                                   .queue = c->queue,
                                   .ingest = c->ingest,
                                   .store = c->store,
                                   .mqtt = c->mqtt,
                                   .sinks = c->sinks,
                                   .cluster = c->cluster,
                                   .owners = c->owners,
                                   .echo = c->echo};
        if ((rc = col_http_server_start(&ho, &c->http)) < 0)
            return rc;
    }
    BP_INFO("main", "botpulse-collector %s running as %s (broker %s, topics %s/...)", BP_VERSION,
            c->cfg.id, c->cfg.mqtt_url, c->cfg.topic_root);
    if ((rc = col_watchdog_start(&c->sd, c->queue, &c->watchdog)) < 0)
        return rc;
    col_engine_run(c->engine, c->queue, &stop_requested);
    return 0;
}

static void shutdown_all(struct collector *c)
{
    col_watchdog_stop(c->watchdog); /* the rules thread has stopped: no more pings */
    col_http_server_free(c->http);  /* first: its requests ask the engine, which has stopped */
    col_cluster_stop(c->cluster);   /* our shards go to the others at once */
    if (c->mqtt) {
        if (bp_mqtt_is_connected(c->mqtt)) {
            say_state(c, false);
            bp_mqtt_flush(c->mqtt, 2000);
        }
        col_echo_stop(c->echo); /* before the client stops: it publishes through it */
        bp_mqtt_stop(c->mqtt, 1000);
    }
    col_sinks_stop(c->sinks, 3000); /* the last alerts, if the receivers are quick */
    if (c->store)
        col_store_stop(c->store, 5000);
    bp_mqtt_free(c->mqtt);  /* no more Paho callbacks after this */
    col_echo_free(c->echo); /* Paho's thread hands it echoes until then */
    col_engine_free(c->engine);
    col_outbox_free(c->outbox);
    col_sinks_free(c->sinks);
    col_cluster_free(c->cluster);
    col_owners_free(c->owners);
    col_store_free(c->store);
    col_ingest_free(c->ingest);
    bp_queue_free(c->queue, col_event_free); /* unanswered queries too */
    bp_sdnotify_cleanup(&c->sd);
    col_settings_cleanup(&c->cfg);
}

/* Writes a new Ed25519 secret key (hex, mode 0600, never over an existing file) and prints
 * the public key for the agents' command_public_key. */
static int keygen(const char *path)
{
    uint8_t pk[BP_SIGN_PK_BYTES], sk[BP_SIGN_SK_BYTES];
    char hex[2 * BP_SIGN_SK_BYTES + 2];
    if (bp_sign_keypair(pk, sk) < 0) {
        fprintf(stderr, "botpulse-collector: libsodium failed\n");
        return 1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "botpulse-collector: %s: %s\n", path, strerror(errno));
        return 1;
    }
    bp_hex_encode(sk, sizeof(sk), hex);
    strcat(hex, "\n");
    ssize_t n = write(fd, hex, strlen(hex));
    int rc = n == (ssize_t)strlen(hex) && fsync(fd) == 0 ? 0 : 1;
    close(fd);
    bp_sign_wipe(sk, sizeof(sk));
    bp_sign_wipe(hex, sizeof(hex));
    if (rc) {
        fprintf(stderr, "botpulse-collector: cannot write %s\n", path);
        return 1;
    }
    bp_hex_encode(pk, sizeof(pk), hex);
    printf("%s\n", hex);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "keygen") == 0)
        return keygen(argv[2]);
    const char *path = NULL;
    bool check_only = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--check-config") == 0) {
            check_only = true;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("botpulse-collector %s\n", BP_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "botpulse-collector: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    struct collector c = {0};
    char err[512];
    if (col_settings_load(path, &c.cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "botpulse-collector: %s\n", err);
        return 2;
    }
    enum bp_log_level lvl;
    if (bp_log_level_parse(c.cfg.log_level, &lvl) == 0)
        bp_log_threshold = lvl;
    if (check_only) {
        printf("%s: ok (%zu bot sections)\n", path, c.cfg.nbots);
        col_settings_cleanup(&c.cfg);
        return 0;
    }
    bp_sdnotify_init(&c.sd, bp_mono_ms()); /* before any thread: it unsets the variables */
    sigemptyset(&c.signals);
    sigaddset(&c.signals, SIGINT);
    sigaddset(&c.signals, SIGTERM);
    sigaddset(&c.signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &c.signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = run(&c);
    if (rc < 0 && !stop_requested)
        BP_ERROR("main", "cannot run: %s", strerror(-rc));
    shutdown_all(&c);
    BP_INFO("main", "stopped");
    return rc < 0 ? 1 : 0;
}
