// The allow-list and network-policy rules of the JS host, as the Rust host
// (host/src/allowlist.rs, host/src/network_policy.rs) and the Python host
// (examples/python-host/stigg_host.py) apply them. No I/O here.

export const DEFAULT_PORTS = { http: 80, https: 443 };

/** A request the allow-list or the network policy refuses (WIT `error.denied`). */
export class Denied extends Error {}

/**
 * `scheme://host:port` of a URL: lower-case scheme and host, default port
 * filled in. Throws Denied for anything but a plain http(s) URL without
 * credentials; with `bare`, also for a path, query or fragment.
 */
export function originOf(url, { bare = false } = {}) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new Denied(`not a valid URL: ${error.message}`);
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  if (!(scheme in DEFAULT_PORTS)) {
    throw new Denied(`scheme \`${scheme}\` is not allowed (only http and https)`);
  }
  // WHATWG URL drops an empty `user@`, so look at the authority as written.
  const authority = String(url).replace(/^[^:]*:\/\//, '').split(/[/?#]/, 1)[0];
  if (parsed.username || parsed.password || authority.includes('@')) {
    throw new Denied('URLs with credentials (user:password@) are not allowed');
  }
  const host = parsed.hostname.toLowerCase(); // IPv6 keeps its brackets
  if (!host) throw new Denied('the URL has no host');
  if (bare && (parsed.pathname !== '/' || /[?#]/.test(url))) {
    throw new Denied('an origin is only scheme://host[:port], without path, query or fragment');
  }
  return `${scheme}://${host}:${parsed.port || DEFAULT_PORTS[scheme]}`;
}

// --- addresses as byte arrays -------------------------------------------

function parseV4(text) {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) < 256)) return null;
  return parts.map(Number);
}

function parseV6(text) {
  let head = text.split('%')[0];
  let tail4 = [];
  const dotted = head.match(/^(.*:)(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    tail4 = parseV4(dotted[2]);
    if (!tail4) return null;
    head = dotted[1].endsWith('::') ? dotted[1] : dotted[1].slice(0, -1);
  }
  const groupsWanted = 8 - tail4.length / 2;
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const toGroups = (s) => (s === '' ? [] : s.split(':'));
  const left = toGroups(halves[0]);
  const right = halves.length === 2 ? toGroups(halves[1]) : [];
  const fill = groupsWanted - left.length - right.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  const groups = [...left, ...Array(fill).fill('0'), ...right];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  return [...groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 255]), ...tail4];
}

/** `[bytes, family]` of an IP address literal (IPv6 with or without brackets), or null. */
export function parseIp(text) {
  const bare = String(text).replace(/^\[(.*)\]$/, '$1');
  const v4 = parseV4(bare);
  if (v4) return v4;
  return bare.includes(':') ? parseV6(bare) : null;
}

function network(cidr, name) {
  const [address, bits] = cidr.split('/');
  return { bytes: parseIp(address), bits: Number(bits), name };
}

function inNetwork(bytes, net) {
  if (bytes.length !== net.bytes.length) return false;
  for (let bit = 0; bit < net.bits; bit += 8) {
    const mask = net.bits - bit >= 8 ? 0xff : (0xff << (8 - (net.bits - bit))) & 0xff;
    if ((bytes[bit / 8] & mask) !== (net.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

// Non-public ranges, named as the Rust host names them.
const V4_RANGES = [
  ['0.0.0.0/8', 'in 0.0.0.0/8 (unspecified, "this network")'],
  ['10.0.0.0/8', 'private (10.0.0.0/8, RFC 1918)'],
  ['100.64.0.0/10', 'carrier-grade NAT (100.64.0.0/10)'],
  ['127.0.0.0/8', 'loopback (127.0.0.0/8)'],
  ['169.254.0.0/16', 'link-local (169.254.0.0/16, cloud metadata services)'],
  ['172.16.0.0/12', 'private (172.16.0.0/12, RFC 1918)'],
  ['192.0.0.0/24', 'reserved (192.0.0.0/24, IETF protocol assignments)'],
  ['192.0.2.0/24', 'reserved (192.0.2.0/24, documentation)'],
  ['192.168.0.0/16', 'private (192.168.0.0/16, RFC 1918)'],
  ['198.18.0.0/15', 'reserved (198.18.0.0/15, benchmarking)'],
  ['198.51.100.0/24', 'reserved (198.51.100.0/24, documentation)'],
  ['203.0.113.0/24', 'reserved (203.0.113.0/24, documentation)'],
  ['224.0.0.0/4', 'multicast (224.0.0.0/4)'],
  ['240.0.0.0/4', 'reserved (240.0.0.0/4, broadcast included)'],
].map(([cidr, name]) => network(cidr, name));
const V6_RANGES = [
  ['::/128', 'unspecified (::)'],
  ['::1/128', 'loopback (::1)'],
  ['::/96', 'reserved (::/96, IPv4-compatible)'],
  ['100::/64', 'reserved (100::/64, discard)'],
  ['2001:db8::/32', 'reserved (2001:db8::/32, documentation)'],
  ['2002::/16', '6to4 (2002::/16, may reach any IPv4 address)'],
  ['fc00::/7', 'unique local (fc00::/7, RFC 4193)'],
  ['fe80::/10', 'link-local (fe80::/10)'],
  ['fec0::/10', 'site-local (fec0::/10, deprecated)'],
  ['ff00::/8', 'multicast (ff00::/8)'],
].map(([cidr, name]) => network(cidr, name));
const MAPPED = network('::ffff:0:0/96');
const NAT64 = network('64:ff9b::/96');

/** An IPv6 address carrying an IPv4 one (mapped, NAT64) is judged as that address. */
function canonical(bytes) {
  if (bytes.length === 16 && (inNetwork(bytes, MAPPED) || inNetwork(bytes, NAT64))) return bytes.slice(12);
  return bytes;
}

/** The non-public range an address is in, named; null for a public address. */
export function specialRange(ip) {
  const bytes = canonical(typeof ip === 'string' ? parseIp(ip) : ip);
  const ranges = bytes.length === 4 ? V4_RANGES : V6_RANGES;
  return ranges.find((net) => inNetwork(bytes, net))?.name ?? null;
}

function isLoopback(bytes) {
  const c = canonical(bytes);
  return c.length === 4 ? c[0] === 127 : c.every((b, i) => b === (i === 15 ? 1 : 0));
}

/**
 * Why a connection to `ip` over `scheme` is refused under the operator's
 * flags, or null. The same wording as the Python host.
 */
export function refusal({ allowPrivate = false, allowPlainHttp = false }, scheme, ip) {
  const bytes = parseIp(ip);
  if (!bytes) return `${ip} is not an IP address`;
  const shown = String(ip).replace(/^\[(.*)\]$/, '$1');
  const special = specialRange(bytes);
  if (special && !allowPrivate) {
    return `${shown} is ${special}: the host's network policy refuses non-public addresses `
      + 'unless the operator allows private networks';
  }
  if (scheme === 'http' && !allowPlainHttp && !isLoopback(bytes)) {
    return `plain http to ${shown}: the host's network policy requires https for any address `
      + 'but loopback unless the operator allows plain http';
  }
  return null;
}

// --- request headers ----------------------------------------------------

// RFC 9110 `token`: the characters a header name may hold.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A field value: HTAB, SP and visible ASCII (0x21-0x7E), nothing else.
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;

/**
 * Why a request header cannot be sent (null when it can): its name must be a
 * token and its value only HTAB, SP and visible ASCII. The reason names the
 * header, never its value (the value may be the API key).
 */
export function headerRefusal(name, value) {
  if (typeof name !== 'string' || !TOKEN.test(name)) {
    return `the header name ${JSON.stringify(String(name))} is not an HTTP token (letters, digits and !#$%&'*+-.^_\`|~ only)`;
  }
  if (typeof value !== 'string' || !FIELD_VALUE.test(value)) {
    return `the value of header \`${name}\` holds a character an HTTP header cannot carry`;
  }
  return null;
}

// --- UTF-8 ----------------------------------------------------------------

/** The byte offset of the first invalid UTF-8 sequence in `bytes` (its length when it is all valid). */
export function firstInvalidUtf8(bytes) {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    if (b < 0x80) { i++; continue; }
    const len = b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (len === 0 || i + len > bytes.length) return i;
    const c = bytes[i + 1];
    // the second byte's range excludes overlong forms and surrogates
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    if (c < lo || c > hi) return i;
    for (let k = 2; k < len; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    i += len;
  }
  return bytes.length;
}
