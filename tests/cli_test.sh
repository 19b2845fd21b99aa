#!/usr/bin/env bash
# tests/cli_test.sh: the onnxtrain CLI's stable interface: run (by folder and
# by name, .pb and .npy), inspect, ops, and clean failures on bad input.
# usage: cli_test.sh path/to/onnxtrain source_dir
set -u
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
passes=0
check() { # description, then a command that must succeed
  local what=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then passes=$((passes + 1)); else
    fails=$((fails + 1))
    echo "FAIL: $what"
    sed 's/^/    /' "$tmp/out"
  fi
}
# must exit with status 1 (not a crash) and print the expected text on stderr
fails_with() {
  local what=$1 expect=$2
  shift 2
  "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  local rc=$?
  if [ $rc -eq 1 ] && grep -qF -- "$expect" "$tmp/stderr"; then passes=$((passes + 1)); else
    fails=$((fails + 1))
    echo "FAIL: $what (exit $rc, wanted 1 and stderr containing '$expect')"
    sed 's/^/    /' "$tmp/stderr"
  fi
}

demo=$src/examples/demo
case_dir=/usr/share/libonnx-testdata/data/node/test_add_bcast

check "run --input-dir writes output_0.pb" "$bin" run "$case_dir/model.onnx" --input-dir "$case_dir/test_data_set_0" --output-dir "$tmp/o1"
check "output_0.pb exists" test -s "$tmp/o1/output_0.pb"
check "run by name with .pb files" "$bin" run "$case_dir/model.onnx" --input "x=$case_dir/test_data_set_0/input_0.pb" --input "y=$case_dir/test_data_set_0/input_1.pb" --output-dir "$tmp/o2"
check "same output by name and by folder" cmp "$tmp/o1/output_0.pb" "$tmp/o2/output_0.pb"
check "demo model runs" "$bin" run "$demo/cnn.onnx" --input-dir "$demo" --output-dir "$tmp/o3" --quiet
# a .npy input: header for float32 (8, 1, 28, 28) + the .pb's raw bytes
/usr/bin/env printf '\x93NUMPY\x01\x00' >"$tmp/x.npy"
header="{'descr': '<f4', 'fortran_order': False, 'shape': (8, 1, 28, 28), }"
while [ $(((${#header} + 11) % 64)) -ne 0 ]; do header="$header "; done
header="$header"$'\n'
len=${#header}
/usr/bin/env printf "\\x$(printf %02x $((len % 256)))\\x$(printf %02x $((len / 256)))" >>"$tmp/x.npy"
printf '%s' "$header" >>"$tmp/x.npy"
tail -c $((8 * 784 * 4)) "$demo/input_0.pb" >>"$tmp/x.npy"
check "run with a .npy input" "$bin" run "$demo/cnn.onnx" --input "image=$tmp/x.npy" --output-dir "$tmp/o4" --quiet
check "same output from .npy and .pb" cmp "$tmp/o3/output_0.pb" "$tmp/o4/output_0.pb"
"$bin" inspect "$demo/cnn.onnx" >"$tmp/inspect.txt" 2>&1
check "inspect lists ops and inputs" grep -q "Conv" "$tmp/inspect.txt"
check "inspect keeps the symbolic batch dim" grep -q "image .*float32 (batch, 1, 28, 28)" "$tmp/inspect.txt"
check "inspect reports no unsupported ops" grep -q "unsupported ops: none" "$tmp/inspect.txt"
check "ops" "$bin" ops
"$bin" ops --markdown >"$tmp/ops.md" 2>&1
tail -n +7 "$src/docs/ops.md" >"$tmp/ops_doc.md"
check "docs/ops.md is current (run tools/gen-ops-doc.sh)" cmp "$tmp/ops.md" "$tmp/ops_doc.md"

fails_with "missing model" "cannot" "$bin" run "$tmp/nope.onnx" --input-dir "$tmp"
head -c 100 "$demo/cnn.onnx" >"$tmp/truncated.onnx"
fails_with "truncated model" "INVALID_MODEL" "$bin" run "$tmp/truncated.onnx" --input-dir "$demo"
fails_with "missing input file" "input 'image'" "$bin" run "$demo/cnn.onnx" --input-dir "$tmp"
fails_with "unknown input name" "names no graph input" "$bin" run "$demo/cnn.onnx" --input-dir "$demo" --input "nope=$demo/input_0.pb"
fails_with "wrong input shape" "input 'x' has shape" "$bin" run "$case_dir/model.onnx" --input "x=$demo/input_0.pb" --input "y=$case_dir/test_data_set_0/input_1.pb"
"$bin" frobnicate >/dev/null 2>&1
if [ $? -eq 2 ]; then passes=$((passes + 1)); else fails=$((fails + 1)); echo "FAIL: unknown command exits 2"; fi

echo "cli: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
