// Caps the linear memories a core wasm module defines: the memory section's
// limits get a maximum (the host's --max-memory-mib), so a `memory.grow`
// past it returns -1 inside the engine (a Rust guest then aborts) instead of
// the memory growing to V8's own limit of 4 GiB. No I/O here.

const PAGE = 64 * 1024;

function readLeb(bytes, at) {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    if (at >= bytes.length) throw new Error('truncated LEB128');
    const b = bytes[at++];
    value |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if (!(b & 0x80)) return [value, at];
  }
}

function leb(value) {
  const out = [];
  let v = BigInt(value);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}

/**
 * `bytes` (a core module) with every memory it defines limited to `capBytes`.
 * Returns `{bytes, minBytes}`: `minBytes` is the most initial memory one of
 * them asks for (more than the cap: the module cannot run under it).
 */
export function capMemories(bytes, capBytes) {
  const capPages = BigInt(Math.floor(capBytes / PAGE));
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    return { bytes, minBytes: 0 }; // not a module: WebAssembly.compile will say so
  }
  const parts = [bytes.subarray(0, 8)];
  let minBytes = 0;
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, start] = readLeb(bytes, at + 1);
    const end = start + Number(size);
    if (id !== 5) {
      parts.push(bytes.subarray(at, end));
      at = end;
      continue;
    }
    let [count, p] = readLeb(bytes, start);
    const body = [...leb(count)];
    for (let i = 0n; i < count; i++) {
      const flags = bytes[p++];
      let min;
      let max = null;
      [min, p] = readLeb(bytes, p);
      if (flags & 1) [max, p] = readLeb(bytes, p);
      minBytes = Math.max(minBytes, Number(min) * PAGE);
      const capped = max === null || max > capPages ? capPages : max;
      body.push(flags | 1, ...leb(min), ...leb(capped < min ? min : capped));
    }
    if (p !== end) throw new Error('unexpected bytes in the memory section');
    parts.push(Uint8Array.of(5, ...leb(body.length), ...body));
    at = end;
  }
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return { bytes: out, minBytes };
}
