"""lapse_layout.py - the lapse output schema for the Python test helpers.

The Python copy of src/io/layout.h (which owns the schema in C): the paths of lapse's own group
and datasets, the attribute names, the /lapse/tasks field names, the done-mark and row-status
encodings, the run states. tasks.py, check_done.py and h5same.py take the names from here.
The unit_schema test (check_schema.py) compares SCHEMA with `lapse info --schema` and fails on
any difference, so a change to layout.h must be made here too.
"""

SCHEMA = {
    "group": "/lapse",
    "tasks": "/lapse/tasks",
    "done": "/lapse/done",
    "runs": "/lapse/runs",
    "input_sums": "/lapse/input_sums",
    "done_tile_attr": "tile",
    "mark": {"pending": 0, "done": 1},
    "task_fields": ["run_id", "task_id", "timepoint", "tile", "core_offset", "core_shape",
                    "rank", "host", "device", "t_read", "t_upload", "t_compute", "t_download",
                    "t_write", "t_total", "bytes_in", "bytes_out", "status", "nonfinite",
                    "t_start", "t_wait", "clipped"],
    "row_status": {"done": 0, "failed": 1, "abandoned": 2},
    "root_attrs": ["lapse_version", "config", "input_file", "input_dataset", "fingerprint",
                   "input_identity", "parts_token"],
    "run_attrs": ["run_id", "nranks", "start", "end", "status", "timepoints", "config",
                  "config_path", "input_file", "input_dataset", "fingerprint", "timepoints_hash",
                  "input_identity", "input_identity_end", "input_changed"],
    "run_status": ["running", "done", "failed", "interrupted"],
}

GROUP = SCHEMA["group"]
TASKS = SCHEMA["tasks"]
DONE = SCHEMA["done"]
RUNS = SCHEMA["runs"]
INPUT_SUMS = SCHEMA["input_sums"]
DONE_TILE_ATTR = SCHEMA["done_tile_attr"]
MARK_PENDING = SCHEMA["mark"]["pending"]
MARK_DONE = SCHEMA["mark"]["done"]
TASK_FIELDS = tuple(SCHEMA["task_fields"])
ROW_DONE = SCHEMA["row_status"]["done"]
ROW_FAILED = SCHEMA["row_status"]["failed"]
ROW_ABANDONED = SCHEMA["row_status"]["abandoned"]


def run_path(run_id):
    """Path of the group of run run_id."""
    return "%s/%d" % (RUNS, run_id)


def reserved(name):
    """True when name (absolute or relative to the root) is lapse's group or inside it."""
    g = GROUP.lstrip("/")
    n = name.lstrip("/")
    return n == g or n.startswith(g + "/")
