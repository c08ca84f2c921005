/*
 * test_clrt.c - the OpenCL runtime's program cache (clrt.c) on the device chosen with
 * LAPSE_DEV_ANY (PoCL's CPU device on machines without a GPU): every embedded kernel file builds
 * on its own, its kernels are created once and cached (the same cl_kernel on every call), build
 * logs name kernels/FILE:LINE (also where the compiler ignores #line: lapse_cl_map_log), unknown
 * files and kernels fail with a message that names them, and build options select their own cached
 * programs.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clrt.h"
#include "testutil.h"
#include "kernels_embedded.h"

/* A source whose 3rd line has an error: the build log must point at kernels/broken.cl:3. */
START_TEST(test_build_log_names_file_and_line)
{
    static const char src[] = "/* broken.cl - a kernel with an error on line 3 */\n"
                              "__kernel void lapse_broken(__global float *p)\n"
                              "{ p[0] = undeclared_identifier; }\n";
    lapse_cl_t *cl = tu_open_cl();
    cl_program prog = (cl_program)&src; /* must stay unchanged on failure */
    lapse_err_clear();
    ck_assert_int_eq(lapse_cl_build_source(cl, "broken.cl", src, &prog), LAPSE_ECL);
    ck_assert_ptr_eq(prog, (cl_program)&src);
    const char *msg = lapse_errmsg();
    ck_assert_msg(strstr(msg, "kernels/broken.cl:3") != NULL, "no kernels/broken.cl:3 in: %s", msg);
    ck_assert_msg(strstr(msg, "build log") != NULL, "%s", msg);
    ck_assert_msg(strstr(msg, cl->dev.name) != NULL, "device name missing: %s", msg);
    /* a correct source under a name builds, and the caller owns the program */
    static const char good[] = "__kernel void lapse_fine(__global float *p) { p[0] = 1.0f; }\n";
    lapse_err_clear();
    ck_assert_msg(lapse_cl_build_source(cl, "fine.cl", good, &prog) == LAPSE_OK, "%s",
                  lapse_errmsg());
    ck_assert_int_eq(clReleaseProgram(prog), CL_SUCCESS);
    lapse_cl_close(cl);
}
END_TEST

/* Every embedded kernel file builds on its own; each of its kernels is created once. */
/* A log of a compiler that ignores #line (NVIDIA's, as seen on an H200: "<kernel>:60:52: error"
 * for line 3 of a user's file behind 57 program lines) names the files: each place maps to
 * the segment that holds its program line; text around it, places before the first segment,
 * other "<...>" words and logs that name files already stay as they are. */
START_TEST(test_map_log)
{
    const lapse_cl_linemap_t m = {2, {3, 58}, {"kernels/custom.cl", "dir/my filter.cl"}, 62};
    static const char *const cases[][2] = {
        {"<kernel>:60:52: error: expected expression\n{ return x +  }\n",
         "dir/my filter.cl:3:52: error: expected expression\n{ return x +  }\n"},
        {"<kernel>:57:1: warning: w\n<kernel>:58:9: note: n", "kernels/custom.cl:55:1: warning: "
                                                              "w\ndir/my filter.cl:1:9: note: n"},
        {"<kernel>:2:1: error: e <kernel>: <int> a<b>:3: <kernel>:x: <source>:59:2 <kernel>:63:1 "
         "<kernel>:62:1",
         "<kernel>:2:1: error: e <kernel>: <int> a<b>:3: <kernel>:x: <source>:59:2 <kernel>:63:1 "
         "dir/my filter.cl:5:1"},
        {"dir/my filter.cl:3:52: error: e", "dir/my filter.cl:3:52: error: e"},
        {"", ""}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = lapse_cl_map_log(cases[i][0], &m);
        ck_assert_ptr_nonnull(got);
        ck_assert_str_eq(got, cases[i][1]);
        free(got);
    }
}
END_TEST

START_TEST(test_each_file_builds_and_caches)
{
    lapse_cl_t *cl = tu_open_cl();
    ck_assert_int_ge(lapse_kernel_source_count, 1);
    for (int f = 0; f < lapse_kernel_source_count; f++) {
        const char *file = lapse_kernel_sources[f].name;
        cl_program p1 = NULL, p2 = NULL;
        lapse_err_clear();
        ck_assert_msg(lapse_cl_program(cl, file, &p1) == LAPSE_OK, "%s: %s", file, lapse_errmsg());
        ck_assert_int_eq(lapse_cl_program(cl, file, &p2), LAPSE_OK);
        ck_assert_ptr_eq(p1, p2);
        char names[4096] = "";
        ck_assert_int_eq(
            clGetProgramInfo(p1, CL_PROGRAM_KERNEL_NAMES, sizeof names - 1, names, NULL),
            CL_SUCCESS);
        int nk = 0;
        for (char *save = NULL, *n = strtok_r(names, ";", &save); n;
             n = strtok_r(NULL, ";", &save), nk++) {
            cl_kernel k1 = NULL, k2 = NULL;
            cl_program kp = NULL;
            ck_assert_msg(lapse_cl_kernel(cl, file, n, &k1) == LAPSE_OK, "%s/%s: %s", file, n,
                          lapse_errmsg());
            ck_assert_int_eq(lapse_cl_kernel(cl, file, n, &k2), LAPSE_OK);
            ck_assert_msg(k1 == k2, "%s/%s: a second kernel object", file, n);
            ck_assert_int_eq(clGetKernelInfo(k1, CL_KERNEL_PROGRAM, sizeof kp, &kp, NULL),
                             CL_SUCCESS);
            ck_assert_ptr_eq(kp, p1);
        }
        ck_assert_msg(nk > 0, "%s has no kernel", file);
    }
    lapse_cl_close(cl); /* releases every cached kernel and program */
}
END_TEST

/* Unknown files and kernels fail with LAPSE_ECL, a message naming them, *out unchanged. */
START_TEST(test_unknown_file_and_kernel)
{
    lapse_cl_t *cl = tu_open_cl();
    cl_kernel k = NULL;
    lapse_err_clear();
    ck_assert_int_eq(lapse_cl_kernel(cl, "nope.cl", "lapse_sep_gauss", &k), LAPSE_ECL);
    ck_assert_ptr_null(k);
    ck_assert_msg(strstr(lapse_errmsg(), "kernels/nope.cl") != NULL, "%s", lapse_errmsg());
    lapse_err_clear();
    ck_assert_int_eq(lapse_cl_kernel(cl, "filters.cl", "lapse_nope", &k), LAPSE_ECL);
    ck_assert_ptr_null(k);
    const char *msg = lapse_errmsg();
    ck_assert_msg(strstr(msg, "lapse_nope") && strstr(msg, "kernels/filters.cl") &&
                      strstr(msg, cl->dev.name),
                  "%s", msg);
    /* the program built for the failed lookup stays usable */
    lapse_err_clear();
    ck_assert_msg(lapse_cl_kernel(cl, "filters.cl", "lapse_sep_mean", &k) == LAPSE_OK, "%s",
                  lapse_errmsg());
    lapse_cl_close(cl);
}
END_TEST

/* The geometry lapse_tiled_geometry reports (g[4] = LAPSE_K). */
static int geometry_k(lapse_cl_t *cl, cl_kernel k)
{
    cl_int e = CL_SUCCESS, g[32] = {0};
    size_t one = 1;
    cl_mem buf = clCreateBuffer(cl->ctx, CL_MEM_WRITE_ONLY, sizeof g, NULL, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    ck_assert_int_eq(clSetKernelArg(k, 0, sizeof buf, &buf), CL_SUCCESS);
    ck_assert_int_eq(clEnqueueNDRangeKernel(cl->queue, k, 1, NULL, &one, NULL, 0, NULL, NULL),
                     CL_SUCCESS);
    ck_assert_int_eq(clEnqueueReadBuffer(cl->queue, buf, CL_TRUE, 0, sizeof g, g, 0, NULL, NULL),
                     CL_SUCCESS);
    clReleaseMemObject(buf);
    return g[4];
}

/* Build options (the tunables) get programs of their own; a bad one reports the kernel file's
 * own line (the #error of filters_tiled.cl); NULL restores the default programs. */
START_TEST(test_build_options)
{
    lapse_cl_t *cl = tu_open_cl();
    cl_kernel def = NULL, tuned = NULL, again = NULL;
    const char *f = "filters_tiled.cl", *n = "lapse_tiled_geometry";
    ck_assert_msg(lapse_cl_kernel(cl, f, n, &def) == LAPSE_OK, "%s", lapse_errmsg());
    ck_assert_int_eq(lapse_cl_set_build_options(cl, "-DLAPSE_K=7"), LAPSE_OK);
    ck_assert_msg(lapse_cl_kernel(cl, f, n, &tuned) == LAPSE_OK, "%s", lapse_errmsg());
    ck_assert_ptr_ne(def, tuned);
    ck_assert_int_eq(geometry_k(cl, tuned), 7);
    ck_assert_int_ne(geometry_k(cl, def), 7);
    ck_assert_int_eq(lapse_cl_set_build_options(cl, "-DLAPSE_BG_TX=4"), LAPSE_OK);
    lapse_err_clear();
    ck_assert_int_eq(lapse_cl_kernel(cl, f, n, &again), LAPSE_ECL);
    const char *msg = lapse_errmsg();
    ck_assert_msg(strstr(msg, "kernels/filters_tiled.cl:") && strstr(msg, "-DLAPSE_BG_TX=4") &&
                      strstr(msg, "fused box geometry out of range"),
                  "%s", msg);
    ck_assert_int_eq(lapse_cl_set_build_options(cl, NULL), LAPSE_OK);
    ck_assert_int_eq(lapse_cl_kernel(cl, f, n, &again), LAPSE_OK);
    ck_assert_ptr_eq(again, def);
    lapse_cl_close(cl);
}
END_TEST

/* Device identities: ranks under Slurm's --gpus-per-task all see their GPU as index 0, so two
 * of them share a device only where the PCI address or the visible-devices entry agrees. */
START_TEST(test_device_ident)
{
    char a[96], b[96];
    const unsigned p0[4] = {0, 0x1b, 0, 0}, p1[4] = {0, 0x3d, 0, 0};
    lapse_cl_ident(a, sizeof a, 1, p0, "2", 0);
    lapse_cl_ident(b, sizeof b, 1, p1, "3", 0);
    ck_assert_str_eq(a, "pci:0000:1b:00.0");
    ck_assert_str_ne(a, b);                       /* same index 0, other GPUs */
    lapse_cl_ident(a, sizeof a, 1, NULL, "2", 0); /* no PCI query: the visible list's entry */
    lapse_cl_ident(b, sizeof b, 1, NULL, "3", 0);
    ck_assert_str_eq(a, "vis:2");
    ck_assert_str_eq(b, "vis:3");
    lapse_cl_ident(a, sizeof a, 1, NULL, "0,1,GPU-5e2f", 2); /* entry 2 of the list */
    ck_assert_str_eq(a, "vis:GPU-5e2f");
    lapse_cl_ident(a, sizeof a, 1, NULL, "0,1", 1);
    lapse_cl_ident(b, sizeof b, 1, NULL, "0,1", 1); /* two ranks given the same two GPUs */
    ck_assert_str_eq(a, b);
    lapse_cl_ident(a, sizeof a, 1, NULL, "0", 3); /* the list is too short: the index */
    ck_assert_str_eq(a, "idx:3");
    lapse_cl_ident(a, sizeof a, 1, NULL, NULL, 1);
    ck_assert_str_eq(a, "idx:1");
    lapse_cl_ident(a, sizeof a, 0, p0, "2", 0); /* a CPU: shared by every process of the host */
    ck_assert_str_eq(a, "idx:0");
}
END_TEST

static Suite *clrt_suite(void)
{
    Suite *s = suite_create("clrt");
    TCase *tc = tcase_create("programs");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_build_log_names_file_and_line);
    tcase_add_test(tc, test_map_log);
    tcase_add_test(tc, test_each_file_builds_and_caches);
    tcase_add_test(tc, test_unknown_file_and_kernel);
    tcase_add_test(tc, test_build_options);
    tcase_add_test(tc, test_device_ident);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(clrt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
