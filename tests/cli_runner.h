// tests/cli_runner.h: running the `onnxtrain` CLI from a test.
#pragma once

#include <cstdio>
#include <string>

// Runs `onnxtrain ARGS` (stderr merged into stdout); returns its output and
// sets *status to pclose()'s status (0: exit code 0).
inline std::string run_cli(const std::string &args, int *status) {
    std::string cmd = std::string(OT_BINARY_DIR) + "/onnxtrain " + args + " 2>&1";
    std::string out;
    FILE *p = popen(cmd.c_str(), "r");
    if (!p) return "popen failed";
    char buf[512];
    while (fgets(buf, sizeof buf, p)) out += buf;
    *status = pclose(p);
    return out;
}
