/*
 * verify.h - `lapse verify OUT.h5 [--repair]`: read back every task marked done in a lapse
 * output (its core in every result dataset) and name those that cannot be read; with --repair,
 * also read the unmarked tasks, and under the output's lock move the end of allocation past
 * every chunk of the unreadable ones and mark the marked ones not done, so that the next run
 * recomputes them safely. Serial.
 */
#ifndef LAPSE_VERIFY_H
#define LAPSE_VERIFY_H

#include <stdio.h>

#include "status.h"

/* Verify file, printing to f. *unreadable: the marked tasks whose data could not be read (with
 * repair: those now marked not done). LAPSE_EINPUT when file is missing or not a lapse output
 * with done marks, LAPSE_ECONFIG when repair finds a run holding the output's lock, LAPSE_EH5 /
 * LAPSE_EIO when the file cannot be opened, or repaired. Nothing is written without repair. */
lapse_status_t lapse_verify(const char *file, int repair, FILE *f, long long *unreadable);

#endif
