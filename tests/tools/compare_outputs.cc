// tests/tools/compare_outputs.cc: compares a folder of output_K.pb files
// (e.g. written by `onnxtrain run --output-dir`) with a training fixture's
// expected outputs, with the same rule as tests/test_training_models.cc.
//   compare_outputs EXPECTED_DIR GOT_DIR
// Every EXPECTED_DIR/output_K.pb must have a GOT_DIR/output_K.pb with the
// same tensor name and matching values, and GOT_DIR no more outputs.
// Exit 0 when all match, 1 otherwise (each problem on stderr), 2 on usage.
#include <sys/stat.h>

#include <cstdio>

#include "tests/training_case.h"

static int count_outputs(const std::string &dir) {
    int n = 0;
    struct stat sb;
    while (stat((dir + "/output_" + std::to_string(n) + ".pb").c_str(), &sb) == 0) n++;
    return n;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: compare_outputs EXPECTED_DIR GOT_DIR\n");
        return 2;
    }
    const std::string want_dir = argv[1], got_dir = argv[2];
    int n = count_outputs(want_dir), n_got = count_outputs(got_dir), bad = 0;
    if (n == 0) {
        std::fprintf(stderr, "compare_outputs: no output_0.pb in %s\n", want_dir.c_str());
        return 1;
    }
    if (n_got != n) {
        std::fprintf(stderr, "compare_outputs: %d outputs in %s, expected %d\n", n_got, got_dir.c_str(), n);
        bad++;
    }
    for (int k = 0; k < n && k < n_got; k++) {
        std::string file = "/output_" + std::to_string(k) + ".pb";
        std::string want_name = ot_training::pb_tensor_name(want_dir + file);
        std::string got_name = ot_training::pb_tensor_name(got_dir + file);
        if (got_name != want_name) {
            std::fprintf(stderr, "compare_outputs: %s is '%s', expected '%s'\n", (got_dir + file).c_str(),
                         got_name.c_str(), want_name.c_str());
            bad++;
            continue;
        }
        ot_tensor_t *want = nullptr, *got = nullptr;
        ot_status_t *st = ot_tensor_load((want_dir + file).c_str(), &want);
        if (!st) st = ot_tensor_load((got_dir + file).c_str(), &got);
        std::string why = st ? std::string(ot_status_message(st)) : ot_training::compare_output(got, want, want_name);
        ot_status_free(st);
        ot_tensor_destroy(want);
        ot_tensor_destroy(got);
        if (!why.empty()) {
            std::fprintf(stderr, "compare_outputs: %s\n", why.c_str());
            bad++;
        }
    }
    if (!bad) std::printf("compare_outputs: %d outputs match\n", n);
    return bad ? 1 : 0;
}
