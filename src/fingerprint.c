/*
 * fingerprint.c - FNV-1a 64 over a canonical text of the result-defining config (see
 * fingerprint.h). Numbers are printed with %.17g so equal doubles give equal text; a user's
 * kernel file (custom_kernel's source) joins by its text, so editing it changes the hash.
 */
#include "fingerprint.h"

#include <stdio.h>
#include <string.h>

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h ^ 0xff; /* field separator */
}

void lapse_fingerprint(const lapse_config_t *cfg, const lapse_input_info_t *in,
                       const char *input_path, char *out, size_t len)
{
    char buf[512];
    uint64_t h = 14695981039346656037ULL;
    h = fnv(h, input_path);
    h = fnv(h, cfg->input_dataset);
    snprintf(buf, sizeof buf, "%d %lld %lld %lld %lld %d", in->ndims, (long long)in->ntp,
             (long long)in->shape[0], (long long)in->shape[1], (long long)in->shape[2],
             (int)in->dtype);
    h = fnv(h, buf);
    /* a file type converted on reading (int16, uint32, float64) joins only then, so that the
     * fingerprints of uint8 / uint16 / float32 inputs stay as they were; the input's selection
     * (channel, setup, one file per timepoint) is in input_dataset */
    if (in->file_dtype != in->dtype && lapse_dtype_size(in->file_dtype) > 0) {
        snprintf(buf, sizeof buf, "file %s", lapse_dtype_name(in->file_dtype));
        h = fnv(h, buf);
    }
    for (int i = 0; i < cfg->nsteps; i++) {
        const lapse_step_t *s = &cfg->steps[i];
        h = fnv(h, s->op->name);
        /* the numerics version joins the hash only from version 2 on, so that outputs made
         * before versions existed (all version 1) keep their fingerprint */
        const int version = s->op->version_of ? s->op->version_of(s) : s->op->version;
        if (version > 1) {
            snprintf(buf, sizeof buf, "v%d", version);
            h = fnv(h, buf);
        }
        for (int k = 0; k < s->op->nparams; k++) {
            const lapse_param_spec_t *ps = &s->op->params[k];
            if (ps->kind == LAPSE_PARAM_SOURCE) { /* the file's text, not its name */
                h = fnv(h, "source");
                h = fnv(h, s->source && s->source->text ? s->source->text : "");
                continue;
            }
            int nv = ps->kind == LAPSE_PARAM_MATRIX ? 12
                     : ps->kind == LAPSE_PARAM_LIST ? LAPSE_PARAM_LIST_MAX
                                                    : 3;
            size_t l = 0;
            for (int v = 0; v < nv && l < sizeof buf; v++)
                l += (size_t)snprintf(buf + l, sizeof buf - l, "%s%.17g", v ? " " : "",
                                      s->p[k].v[v]);
            h = fnv(h, buf);
        }
        h = fnv(h, s->save);
        /* graph links join the hash only when given, so that chains keep their fingerprint */
        if (s->name[0] || s->from[0] || s->with[0]) {
            snprintf(buf, sizeof buf, "name=%s from=%s with=%s", s->name, s->from, s->with);
            h = fnv(h, buf);
        }
    }
    h = fnv(h, cfg->output_dataset);
    h = fnv(h, lapse_dtype_name(cfg->output_dtype));
    /* uint32 results saturate at 4294967295 since 2026-12-02 (4294967040 before): an output
     * made with the old rule is another config's, not one to continue with mixed rules */
    if (cfg->output_dtype == LAPSE_DT_U32)
        h = fnv(h, "pack v2");
    /* the format joins only when zarr, so that HDF5 outputs keep their fingerprint (continuing
     * an output in the other format would leave done tasks without their data) */
    if (cfg->output_format == LAPSE_FMT_ZARR)
        h = fnv(h, "format zarr");
    if (cfg->output_parts) /* the same reason: the voxels are in other files */
        h = fnv(h, "parts timepoints");
    snprintf(out, len, "%016llx", (unsigned long long)h);
}
