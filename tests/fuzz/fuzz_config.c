/*
 * fuzz_config.c - libFuzzer harness for the config loader: lapse_config_parse() on arbitrary
 * bytes (not NUL-terminated, so reads past len are caught by AddressSanitizer).
 *
 * Besides "no crash, no leak, no undefined behaviour" it checks the loader's contract:
 * a failure returns LAPSE_ECONFIG with a recorded message and leaves nothing allocated; a
 * success yields a config whose strings are terminated, whose step count is in range and whose
 * timepoint selection passes the syntax check. Built by CMake with -DLAPSE_FUZZ=ON
 * (docs/testing.md).
 */
#include "config.h"
#include "status.h"
#include "tpsel.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort (a libFuzzer finding) with a message when cond is false. */
#define FUZZ_ASSERT(cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_config: %s: ", #cond);                                           \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static void check_success(const lapse_config_t *cfg)
{
    FUZZ_ASSERT(cfg->text != NULL, "success without the config text");
    FUZZ_ASSERT(cfg->nsteps >= 1 && cfg->nsteps <= LAPSE_MAX_STEPS, "nsteps %d", cfg->nsteps);
    FUZZ_ASSERT(terminated(cfg->input_file, sizeof cfg->input_file), "input.file");
    FUZZ_ASSERT(terminated(cfg->input_dataset, sizeof cfg->input_dataset), "input.dataset");
    FUZZ_ASSERT(terminated(cfg->output_file, sizeof cfg->output_file), "output.file");
    FUZZ_ASSERT(terminated(cfg->output_dataset, sizeof cfg->output_dataset), "output.dataset");
    FUZZ_ASSERT(terminated(cfg->timepoints, sizeof cfg->timepoints), "timepoints");
    FUZZ_ASSERT(cfg->input_file[0] != '\0' && cfg->output_file[0] != '\0', "empty file name");
    char err[256];
    FUZZ_ASSERT(lapse_tpsel_parse(cfg->timepoints, -1, NULL, NULL, err, sizeof err) == 0,
                "accepted timepoints \"%s\" fail the syntax check: %s", cfg->timepoints, err);
    for (int k = 0; k < 3; k++) {
        FUZZ_ASSERT(cfg->tile_auto || cfg->tile[k] >= 1, "tiles.shape[%d] = %lld", k,
                    (long long)cfg->tile[k]);
        FUZZ_ASSERT(cfg->halo_auto || cfg->halo[k] >= 0, "tiles.halo[%d] = %lld", k,
                    (long long)cfg->halo[k]);
    }
    for (int s = 0; s < cfg->nsteps; s++)
        FUZZ_ASSERT(terminated(cfg->steps[s].save, sizeof cfg->steps[s].save), "steps[%d].save", s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lapse_config_t cfg; /* large (about 30 KiB): keep it off the stack */
    lapse_err_clear();
    lapse_status_t st = lapse_config_parse("fuzz.yaml", (const char *)data, size, &cfg);
    if (st == LAPSE_OK) {
        check_success(&cfg);
    } else {
        FUZZ_ASSERT(st == LAPSE_ECONFIG, "status %d (%s)", (int)st, lapse_strstatus(st));
        FUZZ_ASSERT(lapse_errmsg()[0] != '\0', "failure without a message");
        FUZZ_ASSERT(strncmp(lapse_errmsg(), "fuzz.yaml:", 10) == 0,
                    "message does not start with the path: %s", lapse_errmsg());
        FUZZ_ASSERT(cfg.text == NULL, "failure left the text allocated");
    }
    lapse_config_free(&cfg);
    lapse_config_free(&cfg); /* the contract: safe on an already freed config */
    return 0;
}
