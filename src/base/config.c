/*
 * Process-wide settings (chook_configure). A change takes effect at the next
 * commit; a commit in progress keeps the values it started with.
 */
#include <signal.h>
#include <stdatomic.h>

#include "internal.h"

#define DEFAULT_STOP_TIMEOUT_MS 1000u

static _Atomic int config_signal;
static _Atomic unsigned config_timeout_ms = DEFAULT_STOP_TIMEOUT_MS;

int chook_configure(const chook_config *config)
{
    chook__clear_error();
    if (!config) return chook__fail(CHOOK_EINVAL, "config is NULL");
    CHOOK_CHECK(CHOOK__CHECK_SIZE(config, chook_config));
    if (config->signal && (config->signal < SIGRTMIN || config->signal > SIGRTMAX))
        return chook__fail(CHOOK_EINVAL, "signal %d is not a real-time signal (%d..%d)",
                           config->signal, (int)SIGRTMIN, (int)SIGRTMAX);
    if (config->signal) atomic_store(&config_signal, config->signal);
    if (config->stop_timeout_ms) atomic_store(&config_timeout_ms, config->stop_timeout_ms);
    return CHOOK_OK;
}

int chook__config_signal(void)
{
    return atomic_load(&config_signal);
}

unsigned chook__config_stop_timeout_ms(void)
{
    return atomic_load(&config_timeout_ms);
}
