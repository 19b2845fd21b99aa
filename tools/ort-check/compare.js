// tools/ort-check/compare.js: runs MODEL.onnx in ONNX Runtime (the npm
// package onnxruntime-node) on IN_DIR/input_K.pb and compares every output
// with OUR_DIR/output_K.pb, what `onnxtrain run` wrote for the same inputs.
//   node compare.js MODEL.onnx IN_DIR OUR_DIR [rtol] [atol]
// Exit 0 when |ort - ours| <= atol + rtol * |ort| everywhere, 1 otherwise.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

// TensorProto (onnx.proto): dims = 1, data_type = 2, float_data = 4,
// int64_data = 7, name = 8, raw_data = 9. Enough of the wire format for the
// tensors `onnxtrain run` reads and writes.
const TYPES = {1: ['float32', Float32Array], 6: ['int32', Int32Array], 7: ['int64', BigInt64Array],
               9: ['bool', Uint8Array], 11: ['float64', Float64Array]};

function readTensor(file) {
  const b = fs.readFileSync(file);
  let pos = 0;
  const varint = () => {
    let v = 0n, shift = 0n;
    for (;;) {
      const byte = b[pos++];
      if (byte === undefined) throw new Error(`${file}: truncated`);
      v |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v;
      shift += 7n;
    }
  };
  const dims = [], floats = [], ints = [];
  let type = 0, raw = null;
  while (pos < b.length) {
    const key = Number(varint()), field = key >> 3, wire = key & 7;
    if (wire === 0) {
      const v = varint();
      if (field === 1) dims.push(Number(BigInt.asIntN(64, v)));
      else if (field === 2) type = Number(v);
      else if (field === 7) ints.push(BigInt.asIntN(64, v));
    } else if (wire === 2) {
      const len = Number(varint()), end = pos + len, bytes = b.subarray(pos, end);
      if (field === 1) while (pos < end) dims.push(Number(BigInt.asIntN(64, varint())));
      else if (field === 7) while (pos < end) ints.push(BigInt.asIntN(64, varint()));
      else if (field === 4) for (let o = 0; o < len; o += 4) floats.push(bytes.readFloatLE(o));
      else if (field === 9) raw = Buffer.from(bytes);
      pos = end;
    } else if (wire === 5) {
      if (field === 4) floats.push(b.readFloatLE(pos));
      pos += 4;
    } else if (wire === 1) {
      pos += 8;
    } else {
      throw new Error(`${file}: unexpected wire type ${wire}`);
    }
  }
  if (!TYPES[type]) throw new Error(`${file}: data_type ${type} not handled here`);
  const [name, Arr] = TYPES[type];
  let data;
  if (raw) data = new Arr(raw.buffer, raw.byteOffset, raw.length / Arr.BYTES_PER_ELEMENT);
  else if (type === 1) data = Float32Array.from(floats);
  else if (type === 7) data = BigInt64Array.from(ints);
  else throw new Error(`${file}: no data`);
  return new ort.Tensor(name, data, dims);
}

async function main() {
  const [model, inDir, ourDir, rtolArg, atolArg] = process.argv.slice(2);
  if (!ourDir) {
    console.error('usage: node compare.js MODEL.onnx IN_DIR OUR_DIR [rtol] [atol]');
    process.exit(2);
  }
  const rtol = Number(rtolArg || 1e-4), atol = Number(atolArg || 1e-5);
  const session = await ort.InferenceSession.create(model);
  const feeds = {};
  session.inputNames.forEach((name, k) => { feeds[name] = readTensor(path.join(inDir, `input_${k}.pb`)); });
  const results = await session.run(feeds);
  let ok = true;
  session.outputNames.forEach((name, k) => {
    const theirs = results[name], ours = readTensor(path.join(ourDir, `output_${k}.pb`));
    if (theirs.dims.join() !== ours.dims.join()) {
      console.log(`output ${k} '${name}': ONNX Runtime shape [${theirs.dims}], ours [${ours.dims}]`);
      ok = false;
      return;
    }
    let worst = 0, bad = 0;
    for (let i = 0; i < theirs.data.length; i++) {
      const t = Number(theirs.data[i]), o = Number(ours.data[i]), d = Math.abs(t - o);
      if (!(d <= atol + rtol * Math.abs(t))) bad++;
      if (d > worst || Number.isNaN(d)) worst = d;
    }
    console.log(`output ${k} '${name}' [${theirs.dims}]: max |ORT - ours| = ${worst.toExponential(2)}` +
                (bad ? `, ${bad} elements beyond ${atol} + ${rtol}*|ORT|` : ''));
    ok = ok && bad === 0;
  });
  console.log(`ONNX Runtime ${require('onnxruntime-node/package.json').version}: ${ok ? 'same outputs' : 'OUTPUTS DIFFER'}`);
  process.exit(ok ? 0 : 1);
}

main().catch((e) => { console.error(`ONNX Runtime: ${e.message}`); process.exit(1); });
