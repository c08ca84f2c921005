/*
 * clrt.c - the OpenCL runtime of lapse (see clrt.h): enumerates platforms and devices, chooses
 * one device per rank (GPU, CPU or any; explicit index, LAPSE_DEVICE or local rank), and opens
 * it: one context and one in-order queue. Kernels come from one program per embedded kernel file
 * (kernels/NAME.cl), built the first time one of its kernels is asked for and cached per context
 * together with its kernels (lapse_cl_kernel). Each source is compiled under its own name
 * (`#line 1 "kernels/NAME.cl"`), so build logs point at the file and line, with "-cl-std=CL1.2"
 * and, where the device offers it, "-cl-fp32-correctly-rounded-divide-sqrt" only (plus
 * lapse_cl_set_build_options' tunables), so that results are reproducible (no fast-math, no mad
 * contraction, IEEE division and square root). A user's kernel (custom_kernel) is one program of
 * its own, kernels/custom.cl followed by the user's text under the user's file name
 * (lapse_cl_build_user), built by its step and owned by it, not cached here.
 */
#include "clrt.h"

#include <stdlib.h>
#include <string.h>

#include "kernels_embedded.h"

#define LAPSE_CL_MAX_PLATFORMS 16
#define LAPSE_CL_MAX_DEVICES   64
#define LAPSE_CL_BUILD_OPTIONS "-cl-std=CL1.2"

/* Every device of the platforms, with its platform; type_mask filters (0 = all). */
typedef struct {
    cl_platform_id platform[LAPSE_CL_MAX_DEVICES];
    cl_device_id device[LAPSE_CL_MAX_DEVICES];
    int count;
} dev_list_t;

static lapse_status_t get_platforms(cl_platform_id *ids, cl_uint *n)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = clGetPlatformIDs(LAPSE_CL_MAX_PLATFORMS, ids, n);
    if (e == -1001) { /* CL_PLATFORM_NOT_FOUND_KHR */
        *n = 0;       /* ICD loader without any platform */
        return LAPSE_OK;
    }
    LAPSE_CL(e);
    if (*n > LAPSE_CL_MAX_PLATFORMS)
        *n = LAPSE_CL_MAX_PLATFORMS;
cleanup:
    return st;
}

static lapse_status_t list_devices(cl_device_type type, dev_list_t *out)
{
    lapse_status_t st = LAPSE_OK;
    cl_platform_id plats[LAPSE_CL_MAX_PLATFORMS];
    cl_uint np = 0;
    out->count = 0;
    LAPSE_TRY(get_platforms(plats, &np));
    for (cl_uint p = 0; p < np; p++) {
        cl_device_id ids[LAPSE_CL_MAX_DEVICES];
        cl_uint nd = 0;
        cl_int e = clGetDeviceIDs(plats[p], type, LAPSE_CL_MAX_DEVICES, ids, &nd);
        if (e == CL_DEVICE_NOT_FOUND)
            continue;
        LAPSE_CL(e);
        for (cl_uint d = 0; d < nd && d < LAPSE_CL_MAX_DEVICES; d++) {
            if (out->count == LAPSE_CL_MAX_DEVICES)
                break;
            out->platform[out->count] = plats[p];
            out->device[out->count] = ids[d];
            out->count++;
        }
    }
cleanup:
    return st;
}

static const char *type_name(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU)
        return "GPU";
    if (t & CL_DEVICE_TYPE_ACCELERATOR)
        return "accelerator";
    if (t & CL_DEVICE_TYPE_CPU)
        return "CPU";
    return "other";
}

lapse_status_t lapse_cl_list(FILE *f)
{
    lapse_status_t st = LAPSE_OK;
    cl_platform_id plats[LAPSE_CL_MAX_PLATFORMS];
    cl_uint np = 0;
    LAPSE_TRY(get_platforms(plats, &np));
    if (np == 0)
        fprintf(f, "no OpenCL platform found (is an ICD installed under /etc/OpenCL/vendors?)\n");
    for (cl_uint p = 0; p < np; p++) {
        char pname[256] = "", pver[256] = "";
        LAPSE_CL(clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof pname, pname, NULL));
        LAPSE_CL(clGetPlatformInfo(plats[p], CL_PLATFORM_VERSION, sizeof pver, pver, NULL));
        fprintf(f, "platform %u: %s (%s)\n", p, pname, pver);
        cl_device_id ids[LAPSE_CL_MAX_DEVICES];
        cl_uint nd = 0;
        cl_int e = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, LAPSE_CL_MAX_DEVICES, ids, &nd);
        if (e == CL_DEVICE_NOT_FOUND)
            nd = 0;
        else
            LAPSE_CL(e);
        for (cl_uint d = 0; d < nd && d < LAPSE_CL_MAX_DEVICES; d++) {
            char dname[256] = "", dver[256] = "";
            cl_device_type t = 0;
            cl_ulong gmem = 0, amax = 0;
            cl_uint cu = 0;
            LAPSE_CL(clGetDeviceInfo(ids[d], CL_DEVICE_NAME, sizeof dname, dname, NULL));
            LAPSE_CL(clGetDeviceInfo(ids[d], CL_DEVICE_VERSION, sizeof dver, dver, NULL));
            LAPSE_CL(clGetDeviceInfo(ids[d], CL_DEVICE_TYPE, sizeof t, &t, NULL));
            LAPSE_CL(clGetDeviceInfo(ids[d], CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gmem, &gmem, NULL));
            LAPSE_CL(
                clGetDeviceInfo(ids[d], CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof amax, &amax, NULL));
            LAPSE_CL(clGetDeviceInfo(ids[d], CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL));
            fprintf(f,
                    "  device %u: %s [%s] global memory %.1f GiB, max alloc %.1f GiB, "
                    "%u compute units, %s\n",
                    d, dname, type_name(t), (double)gmem / 1073741824.0,
                    (double)amax / 1073741824.0, cu, dver);
        }
    }
cleanup:
    return st;
}

/* "Portable Computing Language: 1 CPU device; NVIDIA CUDA: 1 GPU device" (all devices). */
static void describe_platforms(char *buf, size_t len)
{
    cl_platform_id plats[LAPSE_CL_MAX_PLATFORMS];
    cl_uint np = 0;
    buf[0] = '\0';
    if (clGetPlatformIDs(LAPSE_CL_MAX_PLATFORMS, plats, &np) != CL_SUCCESS || np == 0) {
        snprintf(buf, len, "no OpenCL platform");
        return;
    }
    for (cl_uint p = 0; p < np && p < LAPSE_CL_MAX_PLATFORMS; p++) {
        char pname[128] = "?";
        clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof pname, pname, NULL);
        cl_uint ngpu = 0, ncpu = 0, nacc = 0;
        clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_GPU, 0, NULL, &ngpu);
        clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_CPU, 0, NULL, &ncpu);
        clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ACCELERATOR, 0, NULL, &nacc);
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, "%s%s: %u GPU, %u CPU, %u accelerator device(s)", p ? "; " : "",
                 pname, ngpu, ncpu, nacc);
    }
}

void lapse_cl_ident(char *buf, size_t len, int is_gpu, const unsigned pci[4], const char *visible,
                    int index)
{
    if (is_gpu && pci != NULL) {
        snprintf(buf, len, "pci:%04x:%02x:%02x.%x", pci[0], pci[1], pci[2], pci[3]);
        return;
    }
    if (is_gpu && visible != NULL && visible[0] != '\0' && index >= 0) {
        const char *e = visible;
        for (int i = 0; i < index && e != NULL; i++)
            e = (e = strchr(e, ',')) ? e + 1 : NULL;
        if (e != NULL) {
            int n = (int)strcspn(e, ",");
            if (n > 0) {
                snprintf(buf, len, "vis:%.*s", n, e);
                return;
            }
        }
    }
    snprintf(buf, len, "idx:%d", index);
}

/* The PCI address of GPU dev into pci[4] (domain, bus, device, function): 1 when its platform
 * tells it (cl_khr_pci_bus_info, AMD's or NVIDIA's device attribute queries), 0 when not (a
 * query that fails counts as not told: the identity then falls back, lapse_cl_ident). */
static int device_pci(cl_device_id dev, unsigned pci[4])
{
    char ext[8192] = "";
    if (clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, sizeof ext - 1, ext, NULL) != CL_SUCCESS)
        return 0;
    if (strstr(ext, "cl_khr_pci_bus_info") != NULL) {
        cl_uint v[4]; /* cl_device_pci_bus_info_khr: domain, bus, device, function */
        if (clGetDeviceInfo(dev, 0x410F /* CL_DEVICE_PCI_BUS_INFO_KHR */, sizeof v, v, NULL) ==
            CL_SUCCESS) {
            for (int i = 0; i < 4; i++)
                pci[i] = v[i];
            return 1;
        }
    }
    if (strstr(ext, "cl_amd_device_attribute_query") != NULL) {
        unsigned char topo[24] = {0}; /* cl_device_topology_amd: type 1 (PCIe), bus, dev, fn */
        if (clGetDeviceInfo(dev, 0x4037 /* CL_DEVICE_TOPOLOGY_AMD */, sizeof topo, topo, NULL) ==
                CL_SUCCESS &&
            topo[0] == 1) {
            pci[0] = 0;
            pci[1] = topo[21];
            pci[2] = topo[22];
            pci[3] = topo[23];
            return 1;
        }
    }
    if (strstr(ext, "cl_nv_device_attribute_query") != NULL) {
        cl_uint bus = 0, slot = 0, domain = 0;
        if (clGetDeviceInfo(dev, 0x4008 /* CL_DEVICE_PCI_BUS_ID_NV */, sizeof bus, &bus, NULL) ==
                CL_SUCCESS &&
            clGetDeviceInfo(dev, 0x4009 /* CL_DEVICE_PCI_SLOT_ID_NV */, sizeof slot, &slot, NULL) ==
                CL_SUCCESS) {
            if (clGetDeviceInfo(dev, 0x400A /* CL_DEVICE_PCI_DOMAIN_ID_NV */, sizeof domain,
                                &domain, NULL) != CL_SUCCESS)
                domain = 0; /* older drivers: no domain query */
            pci[0] = domain;
            pci[1] = bus;
            pci[2] = slot >> 3; /* the slot id is devfn */
            pci[3] = slot & 7;
            return 1;
        }
    }
    return 0;
}

/* The index of GPU dev among the GPU and accelerator devices of its platform plat (the
 * position a visible-devices list counts), or -1 when it cannot be told. */
static int platform_index(cl_platform_id plat, cl_device_id dev)
{
    cl_device_id ids[64];
    cl_uint n = 0;
    if (clGetDeviceIDs(plat, CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR, 64, ids, &n) !=
        CL_SUCCESS)
        return -1;
    for (cl_uint i = 0; i < n && i < 64; i++)
        if (ids[i] == dev)
            return (int)i;
    return -1;
}

/* The visible-devices list of the platform named pname that this process was given, or NULL. */
static const char *visible_list(const char *pname)
{
    if (strstr(pname, "NVIDIA") != NULL)
        return getenv("CUDA_VISIBLE_DEVICES");
    if (strstr(pname, "AMD") != NULL) {
        const char *v = getenv("ROCR_VISIBLE_DEVICES");
        return v != NULL ? v : getenv("GPU_DEVICE_ORDINAL");
    }
    return NULL;
}

static lapse_status_t fill_choice(cl_platform_id plat, cl_device_id dev, int index, int count,
                                  lapse_cl_choice_t *c)
{
    lapse_status_t st = LAPSE_OK;
    cl_device_type t = 0;
    cl_ulong gmem = 0, amax = 0;
    memset(c, 0, sizeof *c);
    c->platform = plat;
    c->device = dev;
    c->index = index;
    c->count = count;
    LAPSE_CL(clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof t, &t, NULL));
    c->is_gpu = (t & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)) != 0;
    LAPSE_CL(clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof c->name - 1, c->name, NULL));
    LAPSE_CL(clGetPlatformInfo(plat, CL_PLATFORM_NAME, sizeof c->platform_name - 1,
                               c->platform_name, NULL));
    LAPSE_CL(clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gmem, &gmem, NULL));
    LAPSE_CL(clGetDeviceInfo(dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof amax, &amax, NULL));
    c->global_mem = gmem;
    c->max_alloc = amax;
    {
        unsigned pci[4];
        int has_pci = c->is_gpu && device_pci(dev, pci);
        lapse_cl_ident(c->ident, sizeof c->ident, c->is_gpu, has_pci ? pci : NULL,
                       visible_list(c->platform_name),
                       c->is_gpu ? platform_index(plat, dev) : index);
    }
cleanup:
    return st;
}

lapse_status_t lapse_cl_choose(lapse_devkind_t kind, int explicit_index, int local_rank,
                               lapse_cl_choice_t *out)
{
    lapse_status_t st = LAPSE_OK;
    dev_list_t list;
    const cl_device_type gpu = CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR;
    if (kind == LAPSE_DEV_CPU) {
        LAPSE_TRY(list_devices(CL_DEVICE_TYPE_CPU, &list));
    } else {
        LAPSE_TRY(list_devices(gpu, &list));
        if (list.count == 0 && kind == LAPSE_DEV_ANY)
            LAPSE_TRY(list_devices(CL_DEVICE_TYPE_CPU, &list));
    }
    if (list.count == 0) {
        char found[1024];
        describe_platforms(found, sizeof found);
        if (kind == LAPSE_DEV_CPU)
            LAPSE_FAIL(LAPSE_ENODEV, "no OpenCL CPU device found (platforms: %s)", found);
        LAPSE_FAIL(LAPSE_ENODEV,
                   "no OpenCL %s device found (platforms: %s); set devices: cpu or any in the "
                   "config to use a CPU device",
                   kind == LAPSE_DEV_ANY ? "GPU or CPU" : "GPU", found);
    }
    int index = explicit_index;
    const char *env = getenv("LAPSE_DEVICE");
    if (env && env[0]) {
        char *end = NULL;
        long v = strtol(env, &end, 10);
        if (*end != '\0' || v < 0 || v > 1000000)
            LAPSE_FAIL(LAPSE_EUSAGE, "LAPSE_DEVICE=%s is not a device index (0, 1, ...)", env);
        index = (int)v;
    }
    if (index < 0)
        index = (local_rank < 0 ? 0 : local_rank) % list.count;
    if (index >= list.count && env && env[0])
        LAPSE_FAIL(LAPSE_EUSAGE,
                   "LAPSE_DEVICE=%s: expected a device index below %d (%d %s device(s) "
                   "visible)",
                   env, list.count, list.count, kind == LAPSE_DEV_CPU ? "CPU" : "usable");
    if (index >= list.count)
        LAPSE_FAIL(LAPSE_ECONFIG, "device index %d out of range: %d %s device(s) visible", index,
                   list.count, kind == LAPSE_DEV_CPU ? "CPU" : "usable");
    LAPSE_TRY(fill_choice(list.platform[index], list.device[index], index, list.count, out));
cleanup:
    return st;
}

/* One built program: a kernel file under one set of extra build options. */
typedef struct {
    char *file;    /* "filters.cl" */
    char *options; /* extra options it was built with, "" for none */
    cl_program program;
} prog_entry_t;

/* One created kernel of a cached program. */
typedef struct {
    int prog; /* index into progs */
    char *name;
    cl_kernel kernel;
} kernel_entry_t;

struct lapse_cl_cache {
    char *options; /* current extra build options, "" for none */
    prog_entry_t *progs;
    int nprogs, capprogs;
    kernel_entry_t *kernels;
    int nkernels, capkernels;
};

/* The embedded source of kernels/<file>, or NULL. */
static const char *embedded_source(const char *file)
{
    for (int i = 0; i < lapse_kernel_source_count; i++)
        if (strcmp(lapse_kernel_sources[i].name, file) == 0)
            return lapse_kernel_sources[i].source;
    return NULL;
}

/* Grow *arr (element size el, *cap elements) to hold n + 1; returns 0 when out of memory. */
static int reserve(void **arr, int *cap, int n, size_t el)
{
    if (n < *cap)
        return 1;
    int ncap = *cap ? 2 * *cap : 16;
    void *p = realloc(*arr, (size_t)ncap * el);
    if (p == NULL)
        return 0;
    *arr = p;
    *cap = ncap;
    return 1;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* The build log of prog for cl's device, or a sentence saying why there is none (caller
 * frees; NULL only when out of memory). A failing clGetProgramBuildInfo is named, never taken
 * for an empty log. */
static char *build_log(const lapse_cl_t *cl, cl_program prog)
{
    size_t len = 0;
    char *log = NULL;
    cl_int e = clGetProgramBuildInfo(prog, cl->dev.device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len);
    if (e == CL_SUCCESS && (log = calloc(len + 1, 1)) != NULL)
        e = clGetProgramBuildInfo(prog, cl->dev.device, CL_PROGRAM_BUILD_LOG, len, log, NULL);
    if (e != CL_SUCCESS) {
        free(log);
        log = malloc(128);
        if (log != NULL)
            snprintf(log, 128,
                     "(none: clGetProgramBuildInfo(CL_PROGRAM_BUILD_LOG) failed: %s (%d))",
                     lapse_cl_strerror(e), e);
    }
    return log;
}

/* Newlines in s. */
static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

char *lapse_cl_map_log(const char *log, const lapse_cl_linemap_t *m)
{
    size_t cap = strlen(log) + 1, len = 0;
    char *out = malloc(cap);
    for (const char *c = log; out != NULL && *c;) {
        /* "<kernel>:P:" with P a line of the program: name:L: */
        const char *e = c;
        long p = 0;
        if (*c == '<') {
            for (e = c + 1; *e >= 'a' && *e <= 'z'; e++)
                ;
            const int known = e - c == 7 && strncmp(c, "<kernel>", 8) == 0;
            if (known && e[1] == ':' && e[2] >= '0' && e[2] <= '9') {
                char *end = NULL;
                p = strtol(e + 2, &end, 10);
                e = *end == ':' && p <= m->lines ? end : c;
            } else
                e = c;
        }
        int seg = -1;
        for (int i = 0; e != c && i < m->n; i++)
            if (p >= m->first[i])
                seg = i;
        char piece[4400];
        size_t plen = 1;
        if (seg >= 0) {
            plen = (size_t)snprintf(piece, sizeof piece, "%s:%ld", m->name[seg],
                                    p - m->first[seg] + 1);
            plen = plen < sizeof piece ? plen : sizeof piece - 1;
            c = e; /* at the ':' after P */
        } else
            piece[0] = *c++;
        if (len + plen + 1 > cap) {
            cap = 2 * cap + plen;
            char *grown = realloc(out, cap);
            if (grown == NULL) {
                free(out);
                return NULL;
            }
            out = grown;
        }
        memcpy(out + len, piece, plen);
        len += plen;
    }
    if (out != NULL)
        out[len] = '\0';
    return out;
}

/* Build the program of the n strings srcs (what: how messages name it) with the current build
 * options. A program that does not compile (CL_BUILD_PROGRAM_FAILURE) is fail_code, any other
 * failure LAPSE_ECL; the message names what, the device and the options, with the build log,
 * its "<kernel>:LINE:" places mapped to files by map (compilers that ignore #line). */
static lapse_status_t build_strings(lapse_cl_t *cl, const char *what, cl_uint n, const char **srcs,
                                    const lapse_cl_linemap_t *map, lapse_status_t fail_code,
                                    cl_program *out)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    cl_program prog = NULL;
    char *opts = NULL, *log = NULL;
    const char *extra = cl->cache->options;
    /* Correctly rounded float division and sqrt where the device offers them (NVIDIA's default
     * division is approximate, and a constant divisor compiles to other code than a run-time
     * one: the tiled window means and variances, whose n is a constant, then differed from the
     * simple kernels in the last bit on an H200). IEEE results are also NumPy's. */
    cl_device_fp_config fp = 0;
    const char *crds = clGetDeviceInfo(cl->dev.device, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp,
                                       NULL) == CL_SUCCESS &&
                               (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT)
                           ? " -cl-fp32-correctly-rounded-divide-sqrt"
                           : "";
    size_t olen = strlen(LAPSE_CL_BUILD_OPTIONS) + strlen(crds) + strlen(extra) + 2;
    opts = malloc(olen);
    LAPSE_ALLOC(opts);
    snprintf(opts, olen, "%s%s%s%s", LAPSE_CL_BUILD_OPTIONS, crds, extra[0] ? " " : "", extra);
    prog = clCreateProgramWithSource(cl->ctx, n, srcs, NULL, &e);
    if (e != CL_SUCCESS)
        LAPSE_FAIL(LAPSE_ECL, "clCreateProgramWithSource(%s) for %s failed: %s (%d)", what,
                   cl->dev.name, lapse_cl_strerror(e), e);
    e = clBuildProgram(prog, 1, &cl->dev.device, opts, NULL, NULL);
    if (e != CL_SUCCESS) {
        log = build_log(cl, prog);
        char *mapped = log ? lapse_cl_map_log(log, map) : NULL;
        if (mapped != NULL) {
            free(log);
            log = mapped;
        }
        LAPSE_FAIL(e == CL_BUILD_PROGRAM_FAILURE ? fail_code : LAPSE_ECL,
                   "building the OpenCL program %s for %s failed: %s (%d), options "
                   "\"%s\"\nbuild log:\n%s",
                   what, cl->dev.name, lapse_cl_strerror(e), e, opts, log ? log : "(none)");
    }
    *out = prog;
    prog = NULL;
cleanup:
    if (prog)
        clReleaseProgram(prog);
    free(log);
    free(opts);
    return st;
}

lapse_status_t lapse_cl_build_source(lapse_cl_t *cl, const char *file, const char *src,
                                     cl_program *out)
{
    char line[300], what[300];
    /* build logs name kernels/FILE and count lines from its first line */
    snprintf(line, sizeof line, "#line 1 \"kernels/%s\"\n", file);
    snprintf(what, sizeof what, "kernels/%s", file);
    const char *srcs[2] = {line, src};
    /* src from the program's line 2 */
    const lapse_cl_linemap_t map = {1, {2}, {what}, 2 + count_lines(src)};
    return build_strings(cl, what, 2, srcs, &map, LAPSE_ECL, out);
}

lapse_status_t lapse_cl_build_user(lapse_cl_t *cl, const char *frame, const char *name,
                                   const char *src, cl_program *out)
{
    lapse_status_t st = LAPSE_OK;
    char head[300], *line = NULL;
    const char *fsrc = embedded_source(frame);
    if (fsrc == NULL)
        LAPSE_FAIL(LAPSE_ECL, "no OpenCL kernel file kernels/%s is embedded in the binary", frame);
    size_t len = 4 * strlen(name) + 16;
    line = malloc(len);
    LAPSE_ALLOC(line);
    /* the frame under its own name, told that a user's text follows, then that text from its
     * line 1 */
    snprintf(head, sizeof head, "#define LAPSE_USER_SOURCE 1\n#line 1 \"kernels/%s\"\n", frame);
    /* the name as a C string literal: a quote or backslash in the config's directory escaped,
     * so that the compiler's log names the file as it is */
    size_t k = (size_t)snprintf(line, len, "\n#line 1 \"");
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        k += (size_t)(*c == '"' || *c == '\\'   ? snprintf(line + k, len - k, "\\%c", *c)
                      : *c < 0x20 || *c == 0x7f ? snprintf(line + k, len - k, "\\%03o", *c)
                                                : snprintf(line + k, len - k, "%c", *c));
    snprintf(line + k, len - k, "\"\n");
    const char *srcs[4] = {head, fsrc, line, src};
    char fname[300];
    snprintf(fname, sizeof fname, "kernels/%s", frame);
    const int ff = 1 + count_lines(head), uf = ff + count_lines(fsrc) + count_lines(line);
    const lapse_cl_linemap_t map = {2, {ff, uf}, {fname, name}, uf + count_lines(src)};
    LAPSE_TRY(build_strings(cl, name, 4, srcs, &map, LAPSE_ECONFIG, out));
cleanup:
    free(line);
    return st;
}

/* Index of the cached program of file under the current options, or -1. */
static int find_program(const lapse_cl_cache_t *c, const char *file)
{
    for (int i = 0; i < c->nprogs; i++)
        if (strcmp(c->progs[i].file, file) == 0 && strcmp(c->progs[i].options, c->options) == 0)
            return i;
    return -1;
}

/* Index of the cached program of file under the current options, built when missing. */
static lapse_status_t program_index(lapse_cl_t *cl, const char *file, int *index)
{
    lapse_status_t st = LAPSE_OK;
    lapse_cl_cache_t *c = cl->cache;
    prog_entry_t pe = {NULL, NULL, NULL};
    int i = find_program(c, file);
    if (i >= 0) {
        *index = i;
        return LAPSE_OK;
    }
    const char *src = embedded_source(file);
    if (src == NULL)
        LAPSE_FAIL(LAPSE_ECL, "no OpenCL kernel file kernels/%s is embedded in the binary", file);
    if (!reserve((void **)&c->progs, &c->capprogs, c->nprogs, sizeof *c->progs))
        LAPSE_FAIL(LAPSE_ENOMEM, "out of memory: OpenCL program cache");
    pe.file = dup_string(file);
    LAPSE_ALLOC(pe.file);
    pe.options = dup_string(c->options);
    LAPSE_ALLOC(pe.options);
    LAPSE_TRY(lapse_cl_build_source(cl, file, src, &pe.program));
    c->progs[c->nprogs] = pe;
    *index = c->nprogs++;
    pe.file = pe.options = NULL;
cleanup:
    free(pe.file);
    free(pe.options);
    return st;
}

lapse_status_t lapse_cl_program(lapse_cl_t *cl, const char *file, cl_program *out)
{
    lapse_status_t st = LAPSE_OK;
    int i = -1;
    LAPSE_TRY(program_index(cl, file, &i));
    *out = cl->cache->progs[i].program;
cleanup:
    return st;
}

lapse_status_t lapse_cl_has_extension(const lapse_cl_t *cl, const char *ext, int *has)
{
    lapse_status_t st = LAPSE_OK;
    size_t len = 0;
    char *all = NULL;
    *has = 0;
    LAPSE_CL(clGetDeviceInfo(cl->dev.device, CL_DEVICE_EXTENSIONS, 0, NULL, &len));
    all = calloc(len + 2, 1);
    LAPSE_ALLOC(all);
    LAPSE_CL(clGetDeviceInfo(cl->dev.device, CL_DEVICE_EXTENSIONS, len, all + 1, NULL));
    all[0] = ' ';
    for (char *p = all; *p; p++)
        if (*p == '\t' || *p == '\n')
            *p = ' ';
    const size_t wl = strlen(ext);
    const char *at = wl ? strstr(all, ext) : NULL;
    /* a whole word: a space before it, a space or the end after it */
    while (at && (at[-1] != ' ' || (at[wl] != ' ' && at[wl] != '\0')))
        at = strstr(at + 1, ext);
    *has = at != NULL;
    /* the tests: LAPSE_FAULT=fail:no-EXT plays a device without EXT */
    char fault[96];
    snprintf(fault, sizeof fault, "no-%s", ext);
    if (lapse_fault_fail(fault) != LAPSE_OK) {
        lapse_err_clear();
        *has = 0;
    }
cleanup:
    free(all);
    return st;
}

lapse_status_t lapse_cl_kernel(lapse_cl_t *cl, const char *file, const char *name, cl_kernel *out)
{
    lapse_status_t st = LAPSE_OK;
    lapse_cl_cache_t *c = cl->cache;
    cl_int e = CL_SUCCESS;
    kernel_entry_t ke = {-1, NULL, NULL};
    LAPSE_TRY(program_index(cl, file, &ke.prog));
    for (int i = 0; i < c->nkernels; i++)
        if (c->kernels[i].prog == ke.prog && strcmp(c->kernels[i].name, name) == 0) {
            *out = c->kernels[i].kernel;
            return LAPSE_OK;
        }
    if (!reserve((void **)&c->kernels, &c->capkernels, c->nkernels, sizeof *c->kernels))
        LAPSE_FAIL(LAPSE_ENOMEM, "out of memory: OpenCL program cache");
    ke.name = dup_string(name);
    LAPSE_ALLOC(ke.name);
    ke.kernel = clCreateKernel(c->progs[ke.prog].program, name, &e);
    if (e != CL_SUCCESS)
        LAPSE_FAIL(LAPSE_ECL, "clCreateKernel(\"%s\") of kernels/%s for %s failed: %s (%d)", name,
                   file, cl->dev.name, lapse_cl_strerror(e), e);
    c->kernels[c->nkernels++] = ke;
    *out = ke.kernel;
    ke.name = NULL;
cleanup:
    free(ke.name);
    return st;
}

lapse_status_t lapse_cl_kernel_with(lapse_cl_t *cl, const char *file, const char *defines,
                                    const char *name, cl_kernel *out)
{
    lapse_status_t st = LAPSE_OK;
    lapse_cl_cache_t *c = cl->cache;
    char *saved = c->options, *both = NULL;
    size_t len = strlen(saved) + strlen(defines) + 2;
    both = malloc(len);
    LAPSE_ALLOC(both);
    snprintf(both, len, "%s%s%s", saved, saved[0] && defines[0] ? " " : "", defines);
    c->options = both; /* the program is cached under the combined options */
    st = lapse_cl_kernel(cl, file, name, out);
    c->options = saved;
cleanup:
    free(both);
    return st;
}

lapse_status_t lapse_cl_set_build_options(lapse_cl_t *cl, const char *extra)
{
    lapse_status_t st = LAPSE_OK;
    char *o = dup_string(extra ? extra : "");
    LAPSE_ALLOC(o);
    free(cl->cache->options);
    cl->cache->options = o;
cleanup:
    return st;
}

lapse_status_t lapse_cl_open(const lapse_cl_choice_t *dev, lapse_cl_t **out)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    lapse_cl_t *cl = calloc(1, sizeof *cl);
    LAPSE_ALLOC(cl);
    cl->dev = *dev;
    cl->cache = calloc(1, sizeof *cl->cache);
    LAPSE_ALLOC(cl->cache);
    cl->cache->options = dup_string("");
    LAPSE_ALLOC(cl->cache->options);
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)dev->platform, 0};
    cl->ctx = clCreateContext(props, 1, &dev->device, NULL, NULL, &e);
    LAPSE_CL(e);
    /* profiling on: the task rows time the device work by its events (pipeline.c) */
    cl->queue = clCreateCommandQueue(cl->ctx, dev->device, CL_QUEUE_PROFILING_ENABLE, &e);
    LAPSE_CL(e);
    *out = cl;
    cl = NULL;
cleanup:
    lapse_cl_close(cl);
    return st;
}

/* Release every cached kernel, then every program, and the cache itself; NULL is accepted. */
static void cache_free(lapse_cl_cache_t *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < c->nkernels; i++) {
        clReleaseKernel(c->kernels[i].kernel);
        free(c->kernels[i].name);
    }
    for (int i = 0; i < c->nprogs; i++) {
        clReleaseProgram(c->progs[i].program);
        free(c->progs[i].file);
        free(c->progs[i].options);
    }
    free(c->kernels);
    free(c->progs);
    free(c->options);
    free(c);
}

lapse_status_t lapse_cl_pinned_alloc(const lapse_cl_t *cl, size_t bytes, lapse_cl_pinned_t *p)
{
    lapse_status_t st = LAPSE_OK;
    cl_int e = CL_SUCCESS;
    if (bytes == 0)
        bytes = 1;
    p->mem = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, bytes, NULL, &e);
    LAPSE_CL(e);
    p->host = clEnqueueMapBuffer(cl->queue, p->mem, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, bytes,
                                 0, NULL, NULL, &e);
    LAPSE_CL(e);
cleanup:
    return st;
}

void lapse_cl_pinned_release(const lapse_cl_t *cl, lapse_cl_pinned_t *p)
{
    if (p->mem && p->host)
        clEnqueueUnmapMemObject(cl->queue, p->mem, p->host, 0, NULL, NULL);
    if (p->mem) {
        clFinish(cl->queue);
        clReleaseMemObject(p->mem);
    }
    p->mem = NULL;
    p->host = NULL;
}

void lapse_cl_close(lapse_cl_t *cl)
{
    if (cl == NULL)
        return;
    if (cl->queue)
        clFinish(cl->queue);
    cache_free(cl->cache);
    if (cl->queue)
        clReleaseCommandQueue(cl->queue);
    if (cl->ctx)
        clReleaseContext(cl->ctx);
    free(cl);
}
