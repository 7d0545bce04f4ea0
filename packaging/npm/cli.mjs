#!/usr/bin/env node
// `source-stigg-wasm`: the Stigg connector as an Airbyte source executable.
//
// Runs the stigg.wasm of this package (transpiled at release time, beside it)
// with the JS host of this package: the Airbyte command line (`spec`, `check
// --config F`, `discover --config F`, `read --config F --catalog F [--state F]`)
// and every flag of the host, anywhere. Runners that cannot add flags lift the
// network policy through the environment, as the Rust `source-stigg-wasm`
// does: STIGG_ALLOW_PRIVATE_NETWORK=1 and STIGG_ALLOW_PLAIN_HTTP=1.

import { fileURLToPath } from 'node:url';
import { runCli } from './host.mjs';

const COMPONENT = fileURLToPath(new URL('./stigg.wasm', import.meta.url));
const POLICY_FROM_ENV = {
  STIGG_ALLOW_PRIVATE_NETWORK: '--allow-private-network',
  STIGG_ALLOW_PLAIN_HTTP: '--allow-plain-http',
};

const flags = [];
for (const [name, flag] of Object.entries(POLICY_FROM_ENV)) {
  const value = (process.env[name] ?? '').trim();
  if (value === '1') flags.push(flag);
  else if (value !== '' && value !== '0') {
    process.stderr.write(`source-stigg-wasm: ${name} must be 1 or 0, not ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
}
runCli([...flags, COMPONENT, ...process.argv.slice(2)]);
