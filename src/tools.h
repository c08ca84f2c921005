/*
 * tools.h - the Python user tools behind `lapse report` and `lapse compare` (tools/lapse_*.py,
 * matplotlib): find the script and replace this process with the Python interpreter running it.
 * See docs/tools.md for where the scripts are looked for.
 */
#ifndef LAPSE_TOOLS_H
#define LAPSE_TOOLS_H

#include <stddef.h>

#include "status.h"

/* Find the tool script name ("lapse_report.py") and write its path into buf[len]. Looked for,
 * in order: $LAPSE_TOOLS/<name> (a directory), <exe dir>/../share/lapse/tools (installed),
 * <exe dir>/../tools (a build directory inside the source tree), the source tree's tools/
 * and the install prefix's share/lapse/tools, both baked in at build time. Returns LAPSE_OK,
 * or LAPSE_ERUNTIME with a message naming the places tried (buf then holds "").
 * When $LAPSE_TOOLS is set, only it is searched. */
lapse_status_t lapse_tool_find(const char *name, char *buf, size_t len);

/* Run the tool script name with argv[0..argc) as its arguments under $LAPSE_PYTHON (default
 * /usr/bin/python3): the process is replaced (execv), so on success this never returns. Returns
 * LAPSE_ERUNTIME with a message when the script is not found or the interpreter cannot be run. */
lapse_status_t lapse_tool_exec(const char *name, int argc, char **argv);

#endif
