// tests/test_npz.cc: NumPy .npz archives (runtime/npz.c). Oracles: archives
// written by numpy.savez and numpy.savez_compressed
// (tools/fixtures/gen_npz_fixtures.py, values recomputed here from the same
// formulas), round trips through our writer, and a malformed corpus made
// by damaging those archives, each asserting the code and the member and
// field the message names.
#include <gtest/gtest.h>
#include <zlib.h>

#include <dirent.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "onnxtrain/onnxtrain.h"
#include "runtime/npz.h"

namespace {

const std::string kDir = OT_SOURCE_DIR "/tests/fixtures/npz";

std::vector<uint8_t> read_bytes(const std::string &path) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    EXPECT_TRUE(f.good()) << path;
    std::vector<uint8_t> b(f.good() ? (size_t)f.tellg() : 0);
    f.seekg(0);
    f.read(reinterpret_cast<char *>(b.data()), (std::streamsize)b.size());
    return b;
}

struct NpzDeleter {
    void operator()(ot_npz_t *n) const { ot_npz_destroy(n); }
};
using Npz = std::unique_ptr<ot_npz_t, NpzDeleter>;

Npz load_ok(const std::vector<uint8_t> &b) {
    ot_npz_t *n = nullptr;
    ot_status_t *st = ot_npz_load_bytes(b.data(), b.size(), "t.npz", &n);
    EXPECT_EQ(st, nullptr) << ot_status_message(st);
    ot_status_free(st);
    return Npz(n);
}

ot_code_t load_fail(const std::vector<uint8_t> &b, std::string *msg) {
    ot_npz_t *n = nullptr;
    ot_status_t *st = ot_npz_load_bytes(b.data(), b.size(), "bad.npz", &n);
    EXPECT_EQ(n, nullptr);
    ot_npz_destroy(n);
    ot_code_t code = ot_status_code(st);
    *msg = ot_status_message(st);
    ot_status_free(st);
    return code;
}

std::string shape_str(const ot_tensor_t *t) {
    std::string s = "(";
    for (int i = 0; i < t->shape.rank; i++) s += (i ? ", " : "") + std::to_string(t->shape.dims[i]);
    return s + ")";
}

template <typename T> std::vector<T> values(const ot_tensor_t *t) {
    const T *p = static_cast<const T *>(t->data);
    return std::vector<T>(p, p + ot_shape_numel(&t->shape));
}

// The arrays of gen_npz_fixtures.py, recomputed.
void expect_fixture_arrays(const ot_npz_t *n) {
    ASSERT_EQ(n->n, 8u);
    const char *order[] = {"f32", "f64", "i64", "i32_scalar", "u8", "flags", "empty", "big"};
    for (size_t i = 0; i < 8; i++) EXPECT_STREQ(n->entries[i].name, order[i]);

    const ot_tensor_t *t = ot_npz_find(n, "f32");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dtype, OT_DTYPE_FLOAT);
    EXPECT_EQ(shape_str(t), "(3, 4)");
    std::vector<float> f32 = values<float>(t);
    for (int i = 0; i < 12; i++) EXPECT_EQ(f32[i], i * 0.5f - 2.25f) << i;

    t = ot_npz_find(n, "f64");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dtype, OT_DTYPE_DOUBLE);
    EXPECT_EQ(shape_str(t), "(2, 3, 2)");
    std::vector<double> f64 = values<double>(t);
    for (int i = 0; i < 12; i++) EXPECT_EQ(f64[i], i / 7.0 - 1.0) << i;

    t = ot_npz_find(n, "i64");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dtype, OT_DTYPE_INT64);
    EXPECT_EQ(values<int64_t>(t), (std::vector<int64_t>{-(1LL << 40), -1, 0, 1, (1LL << 40) + 3}));

    t = ot_npz_find(n, "i32_scalar");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dtype, OT_DTYPE_INT32);
    EXPECT_EQ(t->shape.rank, 0);
    EXPECT_EQ(values<int32_t>(t), std::vector<int32_t>{-123456});

    t = ot_npz_find(n, "u8");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dtype, OT_DTYPE_UINT8);
    EXPECT_EQ(shape_str(t), "(4, 2, 1)");
    std::vector<uint8_t> u8 = values<uint8_t>(t);
    for (int i = 0; i < 8; i++) EXPECT_EQ(u8[i], i * 37 % 256) << i;

    t = ot_npz_find(n, "flags");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dtype, OT_DTYPE_BOOL);
    EXPECT_EQ(values<uint8_t>(t), (std::vector<uint8_t>{1, 0, 1}));

    t = ot_npz_find(n, "empty");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dtype, OT_DTYPE_FLOAT);
    EXPECT_EQ(shape_str(t), "(0, 3)");

    t = ot_npz_find(n, "big");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(shape_str(t), "(64, 64)");
    std::vector<float> big = values<float>(t);
    for (int i = 0; i < 4096; i++) ASSERT_EQ(big[i], (float)(i % 17)) << i;

    EXPECT_EQ(ot_npz_find(n, "f32.npy"), nullptr);
    EXPECT_EQ(ot_npz_find(n, "missing"), nullptr);
}

TEST(Npz, ReadsNumpySavez) {
    ot_npz_t *n = nullptr;
    ot_status_t *st = ot_npz_load((kDir + "/stored.npz").c_str(), &n);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    Npz owner(n);
    expect_fixture_arrays(n);
}

TEST(Npz, ReadsNumpySavezCompressed) {
    ot_npz_t *n = nullptr;
    ot_status_t *st = ot_npz_load((kDir + "/compressed.npz").c_str(), &n);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    Npz owner(n);
    expect_fixture_arrays(n);
}

TEST(Npz, WriterRoundTrip) {
    Npz src = load_ok(read_bytes(kDir + "/compressed.npz"));
    ASSERT_TRUE(src);
    std::vector<const char *> names;
    std::vector<const ot_tensor_t *> tensors;
    for (size_t i = 0; i < src->n; i++) {
        names.push_back(src->entries[i].name);
        tensors.push_back(src->entries[i].tensor);
    }
    char tmpl[] = "/tmp/ot_npz_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string dir = tmpl, path = dir + "/out.npz";
    ot_status_t *st = ot_npz_save(path.c_str(), names.size(), names.data(), tensors.data());
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    std::vector<uint8_t> bytes = read_bytes(path);
    Npz back = load_ok(bytes);
    ASSERT_TRUE(back);
    expect_fixture_arrays(back.get());
    // .npy data 64-byte aligned within each member, as NumPy writes it
    EXPECT_EQ(0, memcmp(bytes.data(), "PK\x03\x04", 4));

    // refused: duplicate names, '/', bfloat16 (no NumPy dtype); nothing written
    unlink(path.c_str());
    const char *dup[] = {"a", "a"};
    const ot_tensor_t *two[] = {tensors[0], tensors[1]};
    st = ot_npz_save(path.c_str(), 2, dup, two);
    EXPECT_EQ(ot_status_code(st), OT_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(ot_status_message(st)).find("member name 'a' appears twice"), std::string::npos)
        << ot_status_message(st);
    ot_status_free(st);
    const char *slash[] = {"a/b"};
    st = ot_npz_save(path.c_str(), 1, slash, two);
    EXPECT_EQ(ot_status_code(st), OT_ERR_INVALID_ARGUMENT);
    ot_status_free(st);
    ot_tensor_t bf = *tensors[0];
    bf.dtype = OT_DTYPE_BFLOAT16;
    const ot_tensor_t *bfp[] = {&bf};
    const char *one[] = {"x"};
    st = ot_npz_save(path.c_str(), 1, one, bfp);
    EXPECT_EQ(ot_status_code(st), OT_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(ot_status_message(st)).find("member 'x'"), std::string::npos) << ot_status_message(st);
    ot_status_free(st);
    DIR *d = opendir(dir.c_str());
    int entries = 0;
    while (struct dirent *e = readdir(d)) entries += e->d_name[0] != '.';
    closedir(d);
    EXPECT_EQ(entries, 0);
    rmdir(dir.c_str());

    // an empty archive is valid
    uint8_t *buf = nullptr;
    size_t len = 0;
    ASSERT_EQ(ot_npz_serialize(0, nullptr, nullptr, &buf, &len), nullptr);
    Npz empty = load_ok(std::vector<uint8_t>(buf, buf + len));
    free(buf);
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->n, 0u);
}

// ZIP64 everywhere: 0xFFFFFFFF sizes/offsets with ZIP64 extra fields, ZIP64
// end of central directory record and locator (gen_npz_fixtures.py).
TEST(Npz, ReadsZip64Structures) {
    Npz n = load_ok(read_bytes(kDir + "/zip64.npz"));
    ASSERT_TRUE(n);
    ASSERT_EQ(n->n, 2u);
    const ot_tensor_t *f32 = ot_npz_find(n.get(), "f32");
    ASSERT_NE(f32, nullptr);
    EXPECT_EQ(shape_str(f32), "(3, 4)");
    EXPECT_EQ(values<float>(f32)[11], 11 * 0.5f - 2.25f);
    const ot_tensor_t *i64 = ot_npz_find(n.get(), "i64");
    ASSERT_NE(i64, nullptr);
    EXPECT_EQ(values<int64_t>(i64), (std::vector<int64_t>{-(1LL << 40), -1, 0, 1, (1LL << 40) + 3}));
}

// ---- malformed corpus ------------------------------------------------------

uint16_t rd16(const std::vector<uint8_t> &b, size_t p) { return (uint16_t)(b[p] | b[p + 1] << 8); }
uint32_t rd32(const std::vector<uint8_t> &b, size_t p) { return rd16(b, p) | (uint32_t)rd16(b, p + 2) << 16; }
void wr16(std::vector<uint8_t> &b, size_t p, uint16_t v) {
    b[p] = (uint8_t)v;
    b[p + 1] = (uint8_t)(v >> 8);
}
void wr32(std::vector<uint8_t> &b, size_t p, uint32_t v) {
    wr16(b, p, (uint16_t)v);
    wr16(b, p + 2, (uint16_t)(v >> 16));
}

// Positions in a known-good archive: EOCD, central records, local headers.
struct Zip {
    std::vector<uint8_t> b;
    size_t eocd() const {
        for (size_t p = b.size() - 22;; p--)
            if (rd32(b, p) == 0x06054b50u) return p;
    }
    size_t central(size_t i) const {
        size_t p = rd32(b, eocd() + 16);
        for (size_t k = 0; k < i; k++) p += 46 + rd16(b, p + 28) + rd16(b, p + 30) + rd16(b, p + 32);
        return p;
    }
    size_t local(size_t i) const { return rd32(b, central(i) + 42); }
    size_t data(size_t i) const { return local(i) + 30 + rd16(b, local(i) + 26) + rd16(b, local(i) + 28); }
    uint32_t size(size_t i) const { return rd32(b, central(i) + 20); }
    // recompute member i's CRC-32 (stored members) in both headers
    void fix_crc(size_t i) {
        uint32_t crc = (uint32_t)crc32(0, b.data() + data(i), size(i));
        wr32(b, central(i) + 16, crc);
        wr32(b, local(i) + 14, crc);
    }
    // replaces text in member i's .npy header (same length), CRC fixed
    void edit_header(size_t i, const std::string &from, const std::string &to) {
        std::string s(b.begin() + data(i), b.begin() + data(i) + 128);
        size_t at = s.find(from);
        ASSERT_NE(at, std::string::npos) << from;
        ASSERT_EQ(from.size(), to.size());
        memcpy(&b[data(i) + at], to.data(), to.size());
        fix_crc(i);
    }
};

uint64_t rd64(const std::vector<uint8_t> &b, size_t p) { return rd32(b, p) | (uint64_t)rd32(b, p + 4) << 32; }

// zip64.npz: the ZIP64 end of central directory record and the first
// central directory record.
size_t zip64_eocd(const std::vector<uint8_t> &b) { return (size_t)rd64(b, b.size() - 22 - 20 + 8); }
size_t zip64_central0(const std::vector<uint8_t> &b) { return (size_t)rd64(b, zip64_eocd(b) + 48); }

struct Case {
    const char *name;
    const char *file;
    std::function<void(Zip &)> damage;
    ot_code_t code;
    const char *substr;
};

std::vector<Case> cases() {
    std::vector<Case> c;
    const char *st = "stored.npz", *cz = "compressed.npz";
    c.push_back({"empty_file", st, [](Zip &z) { z.b.clear(); }, OT_ERR_INVALID_MODEL,
                 "npz 'bad.npz': file of 0 bytes is too short for a ZIP archive"});
    c.push_back({"no_eocd", st, [](Zip &z) { wr32(z.b, z.eocd(), 0x12345678); }, OT_ERR_INVALID_MODEL,
                 "npz 'bad.npz': no end of central directory record"});
    c.push_back({"central_dir_outside", st, [](Zip &z) { wr32(z.b, z.eocd() + 16, 0x7ffffff0); },
                 OT_ERR_INVALID_MODEL, "central directory (offset 2147483632"});
    c.push_back({"too_many_entries", st, [](Zip &z) {
                     wr16(z.b, z.eocd() + 8, 4000);
                     wr16(z.b, z.eocd() + 10, 4000);
                 },
                 OT_ERR_INVALID_MODEL, "cannot hold 4000 entries"});
    c.push_back({"fewer_entries", st, [](Zip &z) {
                     wr16(z.b, z.eocd() + 8, 7);
                     wr16(z.b, z.eocd() + 10, 7);
                 },
                 OT_ERR_INVALID_MODEL, "central directory has 53 bytes after its 7 entries"});
    c.push_back({"multi_disk", st, [](Zip &z) { wr16(z.b, z.eocd() + 4, 1); }, OT_ERR_UNSUPPORTED,
                 "multi-disk (split) archives are not supported"});
    c.push_back({"central_bad_signature", st, [](Zip &z) { wr32(z.b, z.central(2), 0); }, OT_ERR_INVALID_MODEL,
                 "member '#2': central directory record has a bad signature"});
    c.push_back({"local_bad_signature", st, [](Zip &z) { wr32(z.b, z.local(1), 0); }, OT_ERR_INVALID_MODEL,
                 "member 'f64.npy': local header at 233 has a bad signature"});
    c.push_back({"local_offset_outside", st, [](Zip &z) { wr32(z.b, z.central(1) + 42, 0x7fff0000); },
                 OT_ERR_INVALID_MODEL, "member 'f64.npy': local header offset 2147418112 is outside"});
    c.push_back({"name_mismatch", st, [](Zip &z) { z.b[z.local(0) + 30] = 'g'; }, OT_ERR_INVALID_MODEL,
                 "member 'f32.npy': local header names 'g32.npy'"});
    c.push_back({"empty_name", st, [](Zip &z) { wr16(z.b, z.central(0) + 28, 0); }, OT_ERR_INVALID_MODEL,
                 "member '#0': member name is empty"});
    c.push_back({"nul_in_name", st, [](Zip &z) { z.b[z.central(0) + 46 + 1] = 0; }, OT_ERR_INVALID_MODEL,
                 "member '#0': member name contains a NUL byte"});
    c.push_back({"not_npy", st, [](Zip &z) {
                     z.b[z.central(0) + 46 + 5] = 'x';
                     z.b[z.local(0) + 30 + 5] = 'x';
                 },
                 OT_ERR_INVALID_MODEL, "member 'f32.nxy': is not a .npy member"});
    c.push_back({"duplicate_member", st, [](Zip &z) {
                     z.b[z.central(1) + 46 + 1] = '3';
                     z.b[z.central(1) + 46 + 2] = '2';
                     z.b[z.local(1) + 30 + 1] = '3';
                     z.b[z.local(1) + 30 + 2] = '2';
                 },
                 OT_ERR_INVALID_MODEL, "member 'f32.npy' appears twice"});
    c.push_back({"bad_crc", st, [](Zip &z) { z.b[z.data(0) + 150] ^= 1; }, OT_ERR_INVALID_MODEL,
                 "member 'f32.npy': CRC-32 of the data is"});
    c.push_back({"crc_headers_differ", st, [](Zip &z) { z.b[z.local(3) + 14] ^= 1; }, OT_ERR_INVALID_MODEL,
                 "member 'i32_scalar.npy': local header CRC-32"});
    c.push_back({"sizes_differ", st, [](Zip &z) { wr32(z.b, z.central(4) + 20, z.size(4) - 1); },
                 OT_ERR_INVALID_MODEL, "member 'u8.npy': local header sizes (compressed 136, uncompressed 136) "
                                       "differ from the central directory's (135, 136)"});
    c.push_back({"stored_size_mismatch", st, [](Zip &z) {
                     wr32(z.b, z.central(4) + 24, z.size(4) + 1);
                     wr32(z.b, z.local(4) + 22, z.size(4) + 1);
                 },
                 OT_ERR_INVALID_MODEL, "member 'u8.npy': stored member has compressed size 136 but uncompressed "
                                       "size 137"});
    c.push_back({"data_runs_into_directory", st, [](Zip &z) {
                     uint32_t big = z.size(7) + 100;
                     for (size_t off : {z.central(7) + 20, z.central(7) + 24}) wr32(z.b, off, big);
                     for (size_t off : {z.local(7) + 18, z.local(7) + 22}) wr32(z.b, off, big);
                 },
                 OT_ERR_INVALID_MODEL, "member 'big.npy': compressed data of 16612 bytes"});
    c.push_back({"zip64_sizes_without_extra", st, [](Zip &z) {
                     wr32(z.b, z.central(0) + 20, 0xFFFFFFFFu);
                 },
                 OT_ERR_INVALID_MODEL, "member 'f32.npy': central directory: sizes are 0xFFFFFFFF but there is no "
                                       "ZIP64 extra field"});
    c.push_back({"unknown_method", st, [](Zip &z) {
                     wr16(z.b, z.central(0) + 10, 14);
                     wr16(z.b, z.local(0) + 8, 14);
                 },
                 OT_ERR_UNSUPPORTED, "member 'f32.npy': compression method 14 is not supported"});
    c.push_back({"encrypted", st, [](Zip &z) {
                     z.b[z.central(0) + 8] |= 1;
                     z.b[z.local(0) + 6] |= 1;
                 },
                 OT_ERR_UNSUPPORTED, "member 'f32.npy': encrypted members are not supported"});
    c.push_back({"deflate_corrupt", cz, [](Zip &z) {
                     for (int k = 0; k < 8; k++) z.b[z.data(7) + 2 + k] = 0xff;
                 },
                 OT_ERR_INVALID_MODEL, "member 'big.npy': deflate data is corrupt or truncated"});
    c.push_back({"deflate_size_impossible", cz, [](Zip &z) {
                     wr32(z.b, z.central(0) + 24, 0x7fffffff);
                     wr32(z.b, z.local(0) + 22, 0x7fffffff);
                 },
                 OT_ERR_INVALID_MODEL, "member 'f32.npy': uncompressed size 2147483647 is impossible"});
    c.push_back({"deflate_expands_past_size", cz, [](Zip &z) {
                     uint32_t u = rd32(z.b, z.central(7) + 24) - 10;
                     wr32(z.b, z.central(7) + 24, u);
                     wr32(z.b, z.local(7) + 22, u);
                 },
                 OT_ERR_INVALID_MODEL, "member 'big.npy': deflate data expands past the declared 16502 bytes"});
    c.push_back({"npy_bad_magic", st, [](Zip &z) {
                     z.b[z.data(0) + 1] = 'X';
                     z.fix_crc(0);
                 },
                 OT_ERR_INVALID_MODEL, "npy 'bad.npz:f32.npy': not a .npy file"});
    c.push_back({"npy_bad_header", st, [](Zip &z) { z.edit_header(1, "'shape': (", "'shape': ["); },
                 OT_ERR_INVALID_MODEL, "npy 'bad.npz:f64.npy': malformed header"});
    c.push_back({"npy_unknown_dtype", st, [](Zip &z) { z.edit_header(0, "'<f4'", "'<V4'"); }, OT_ERR_UNSUPPORTED,
                 "npy 'bad.npz:f32.npy': dtype '<V4' is not supported"});
    c.push_back({"npy_fortran_order", st, [](Zip &z) { z.edit_header(0, "False", "True "); }, OT_ERR_UNSUPPORTED,
                 "npy 'bad.npz:f32.npy': fortran_order True is not supported"});
    c.push_back({"npy_shape_vs_data", st, [](Zip &z) { z.edit_header(0, "(3, 4)", "(3, 5)"); },
                 OT_ERR_INVALID_MODEL, "npy 'bad.npz:f32.npy': data has 48 bytes, shape (3, 5) of float32 needs 60"});
    const char *z64 = "zip64.npz";
    c.push_back({"zip64_record_bad_signature", z64, [](Zip &z) { wr32(z.b, zip64_eocd(z.b), 0); },
                 OT_ERR_INVALID_MODEL, "ZIP64 end of central directory record at"});
    c.push_back({"zip64_locator_outside", z64, [](Zip &z) { wr32(z.b, z.b.size() - 22 - 20 + 8, 0x7fffffff); },
                 OT_ERR_INVALID_MODEL, "ZIP64 end of central directory offset 2147483647 is outside the archive"});
    c.push_back({"zip64_locator_missing", z64, [](Zip &z) { wr32(z.b, z.b.size() - 22 - 20, 0); },
                 OT_ERR_INVALID_MODEL, "end of central directory needs ZIP64 values but has no ZIP64 locator"});
    c.push_back({"zip64_extra_missing", z64,
                 [](Zip &z) {
                     size_t c0 = zip64_central0(z.b);
                     wr16(z.b, c0 + 46 + rd16(z.b, c0 + 28), 0x5455); // extra id: no longer ZIP64
                 },
                 OT_ERR_INVALID_MODEL, "member 'f32.npy': central directory: sizes are 0xFFFFFFFF but there is no "
                                       "ZIP64 extra field"});
    c.push_back({"zip64_extra_too_short", z64,
                 [](Zip &z) {
                     size_t c0 = zip64_central0(z.b), x = c0 + 46 + rd16(z.b, c0 + 28);
                     wr16(z.b, x + 2, 16); // 24 bytes needed: sizes and offset
                     wr16(z.b, x + 4 + 16, 0x9999); // the remaining 8 bytes become a field of size 4
                     wr16(z.b, x + 4 + 18, 4);
                 },
                 OT_ERR_INVALID_MODEL, "member 'f32.npy': central directory: ZIP64 extra field of 16 bytes lacks "
                                       "the 64-bit sizes (needs 24)"});
    return c;
}

TEST(NpzMalformed, Corpus) {
    for (const Case &k : cases()) {
        SCOPED_TRACE(k.name);
        Zip z{read_bytes(kDir + "/" + k.file)};
        k.damage(z);
        std::string msg;
        EXPECT_EQ(load_fail(z.b, &msg), k.code) << msg;
        EXPECT_NE(msg.find(k.substr), std::string::npos) << "message: " << msg << "\nwanted: " << k.substr;
    }
}

// Every truncation of both archives fails cleanly (ASan watches the reads).
TEST(NpzMalformed, Truncations) {
    for (const char *f : {"stored.npz", "compressed.npz", "zip64.npz"}) {
        std::vector<uint8_t> full = read_bytes(kDir + "/" + f);
        for (size_t len = 0; len < full.size(); len += (len < 2000 || full.size() - len < 200) ? 1 : 37) {
            std::vector<uint8_t> b(full.begin(), full.begin() + len);
            std::string msg;
            EXPECT_EQ(load_fail(b, &msg), OT_ERR_INVALID_MODEL) << f << " length " << len << ": " << msg;
            EXPECT_EQ(msg.rfind("npz 'bad.npz': ", 0), 0u) << msg;
        }
    }
}

} // namespace

namespace {

// Random byte damage to the archives: a clean load or a clean refusal.
TEST(NpzMalformed, RandomByteDamage) {
    std::mt19937 rng(5);
    int refused = 0;
    for (const char *f : {"compressed.npz", "zip64.npz"}) {
        const std::vector<uint8_t> good = read_bytes(kDir + "/" + f);
        for (int iter = 0; iter < 1500; iter++) {
            std::vector<uint8_t> b = good;
            int flips = 1 + (int)(rng() % 4);
            for (int k = 0; k < flips; k++) b[rng() % b.size()] = (uint8_t)rng();
            ot_npz_t *n = nullptr;
            ot_status_t *st = ot_npz_load_bytes(b.data(), b.size(), "fuzz.npz", &n);
            if (st) {
                refused++;
                std::string msg = ot_status_message(st);
                EXPECT_TRUE(ot_status_code(st) == OT_ERR_INVALID_MODEL || ot_status_code(st) == OT_ERR_UNSUPPORTED)
                    << msg;
                EXPECT_TRUE(msg.rfind("npz 'fuzz.npz'", 0) == 0 || msg.rfind("npy 'fuzz.npz:", 0) == 0) << msg;
                ot_status_free(st);
            }
            ot_npz_destroy(n);
        }
    }
    EXPECT_GT(refused, 1000);
}

} // namespace
