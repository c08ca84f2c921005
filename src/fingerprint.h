/*
 * fingerprint.h - a short hash of everything in a config that decides the values of the
 * results: the input (file, dataset, shape, dtype), every pipeline step (operation, parameters,
 * a custom kernel's source text, save name) and the output datasets and dtype. Not included:
 * timepoints, tiles, devices, scheduling, mode (results do not depend on them). An output remembers
 * the fingerprint of the config that made it, so a run can tell whether it may continue that
 * output.
 */
#ifndef LAPSE_FINGERPRINT_H
#define LAPSE_FINGERPRINT_H

#include "config.h"
#include "io/reader.h"

/* Write the fingerprint (16 hex digits, NUL-terminated) into out (>= 17 bytes). input_path
 * stands for cfg->input_file: the job passes the path made canonical (absolute, links
 * resolved), so that `in.h5`, `./in.h5` and `/data/in.h5` give one fingerprint. The sources of
 * custom kernels must have been read (lapse_config_load_sources). */
void lapse_fingerprint(const lapse_config_t *cfg, const lapse_input_info_t *in,
                       const char *input_path, char *out, size_t len);

#endif
