# Generates C code for onnx.proto with protoc-c at build time. The .proto
# comes from the system (Debian's libonnx-dev); nothing generated is committed.
find_program(PROTOC_C protoc-c REQUIRED)
find_file(ONNX_PROTO onnx.proto PATHS /usr/include/onnx NO_DEFAULT_PATH REQUIRED)

set(ONNX_GEN_DIR ${CMAKE_CURRENT_BINARY_DIR}/schemas/gen)
file(MAKE_DIRECTORY ${ONNX_GEN_DIR}/onnx)
get_filename_component(ONNX_PROTO_DIR ${ONNX_PROTO} DIRECTORY)
add_custom_command(
  OUTPUT ${ONNX_GEN_DIR}/onnx.pb-c.c ${ONNX_GEN_DIR}/onnx.pb-c.h
  COMMAND ${PROTOC_C} --proto_path=${ONNX_PROTO_DIR} --c_out=${ONNX_GEN_DIR} ${ONNX_PROTO}
  DEPENDS ${ONNX_PROTO}
  COMMENT "protoc-c: generating C code for ${ONNX_PROTO}")

set(ONNX_PROTO_SOURCES ${ONNX_GEN_DIR}/onnx.pb-c.c)
set(ONNX_PROTO_INCLUDE ${ONNX_GEN_DIR})
# Generated code is not ours to lint.
set_source_files_properties(${ONNX_PROTO_SOURCES} PROPERTIES COMPILE_OPTIONS "-w")
