// tests/cli_runner.h: running the `onnxtrain` CLI from a test, and reading
// the CSV logs it writes.
#pragma once

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

// The rows of a CSV with a header line, such as `train --log`'s
// (step,loss,lr[,skipped]), as numbers ("nan" included).
inline std::vector<std::vector<double>> read_csv(const std::string &path) {
    std::vector<std::vector<double>> rows;
    std::ifstream f(path);
    std::string line;
    std::getline(f, line); // header
    while (std::getline(f, line)) {
        std::vector<double> row;
        std::stringstream in(line);
        for (std::string cell; std::getline(in, cell, ',');) row.push_back(std::stod(cell));
        rows.push_back(row);
    }
    return rows;
}
