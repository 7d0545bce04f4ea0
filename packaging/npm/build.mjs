// Builds the npm package `source-stigg-wasm`: the JS host, its Airbyte command
// line (cli.mjs) and stigg.wasm transpiled now, so installing it needs no build
// step and running it no jco (its one dependency: preview2-shim, for WASI).
//
//   node packaging/npm/build.mjs --version V --wasm STIGG_WASM --docs-url URL --out DIR
//
// Needs examples/js-host/node_modules (examples/js-host/install.sh): jco
// transpiles. Writes DIR/source-stigg-wasm-V.tgz (npm pack).

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { transpileInto } from '../../examples/js-host/host.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const HOST = join(HERE, '..', '..', 'examples', 'js-host');
// The host's modules: everything it runs (not its install script or lock).
const MODULES = ['host.mjs', 'component-worker.mjs', 'http-client.mjs', 'http-send.mjs', 'http-worker.mjs',
  'memory-cap.mjs', 'policy.mjs', 'recording.mjs', 'shared.mjs'];

const { values } = parseArgs({ options: { version: { type: 'string' }, wasm: { type: 'string' },
  'docs-url': { type: 'string' }, out: { type: 'string' } } });
for (const key of ['version', 'wasm', 'docs-url', 'out']) {
  if (!values[key]) throw new Error(`--${key} is required`);
}
const out = resolve(values.out);
const stage = join(out, 'npm', 'source-stigg-wasm');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });

const hostPackage = JSON.parse(readFileSync(join(HOST, 'package.json'), 'utf8'));
for (const file of MODULES) copyFileSync(join(HOST, file), join(stage, file));
copyFileSync(join(HERE, 'cli.mjs'), join(stage, 'cli.mjs'));
const wasm = readFileSync(values.wasm);
writeFileSync(join(stage, 'stigg.wasm'), wasm);
await transpileInto(wasm, join(stage, 'stigg.wasm.transpiled'));
writeFileSync(join(stage, 'README.md'), `# source-stigg-wasm

The Stigg source for Airbyte, as a sandboxed WebAssembly component, with its
Node host: \`npx source-stigg-wasm spec | check --config F | discover --config F
| read --config F --catalog F [--state F]\`. Node 20 or newer. See ${values['docs-url']}.
`);
const manifest = {
  name: 'source-stigg-wasm',
  version: values.version,
  description: 'Stigg source for Airbyte, as a sandboxed WebAssembly component (the Airbyte command line: source-stigg-wasm)',
  license: 'MIT',
  homepage: values['docs-url'],
  type: 'module',
  bin: { 'source-stigg-wasm': 'cli.mjs' },
  engines: hostPackage.engines,
  dependencies: {
    '@bytecodealliance/preview2-shim': hostPackage.dependencies['@bytecodealliance/preview2-shim'],
  },
};
writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', out], { cwd: stage, encoding: 'utf8' });
console.log(join(out, packed.trim().split('\n').pop()));
