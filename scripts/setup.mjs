#!/usr/bin/env node
// Makes a fresh clone runnable: installs the locked dependencies when they are missing or stale,
// and with --build compiles src/ to dist/. Runs before `npm start` and `npm test`, so that those
// two commands are all a new user needs.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: 'inherit' });

const lock = path.join(root, 'package-lock.json');
const installed = path.join(root, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  console.log('setup: installing the locked dependencies (npm ci)…');
  run(npm, ['ci', '--no-audit', '--no-fund']);
}

if (process.argv.includes('--build')) {
  run(process.execPath, [
    path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    'tsconfig.build.json',
  ]);
}
