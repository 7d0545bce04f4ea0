// Calls the JS host's `http` import (examples/js-host/host.mjs, class Http) as
// the component would, for test_js_host.py: reads a JSON job on stdin,
// {"options": {policy, timeoutMs, maxBytes, concurrency}, "allowed": [URLs whose origins to allow],
//  "call": "send" | "sendAll", "requests": [{method, url, headers, body}]},
// and prints what the component would get: for `send`, {"ok": response} or
// {"err": error} (the thrown payload); for `sendAll`, the list of results.
import { readFileSync } from 'node:fs';
import { Http } from '../../examples/js-host/host.mjs';
import { originOf } from '../../examples/js-host/policy.mjs';

const job = JSON.parse(readFileSync(0, 'utf8'));
const http = new Http(job.options);
http.allowed = new Set(job.allowed.map((url) => originOf(url))); // origins of these URLs
let answer;
if (job.call === 'send') {
  answer = job.requests.map((request) => {
    try {
      return { ok: http.send(request) };
    } catch (error) {
      if (error && Object.hasOwn(error, 'payload')) return { err: error.payload };
      throw error;
    }
  });
} else {
  answer = http.sendAll(job.requests);
}
process.stdout.write(JSON.stringify(answer, (_, v) => (typeof v === 'bigint' ? Number(v) : v)));
