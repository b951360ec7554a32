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

// Tools the test suite runs (openssl makes the TLS test's certificate). On Debian as root they
// are installed when missing, as a fresh CI machine may lack them; elsewhere the suite that
// needs one skips with a printed reason (and fails under CI=true).
if (process.argv.includes('--test-tools')) {
  const missing = ['openssl'].filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  const canInstall = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  if (missing.length > 0 && canInstall) {
    console.log(`setup: installing ${missing.join(', ')} with apt-get…`);
    execFileSync(
      'sh',
      ['-c', 'apt-get update -qq && apt-get install -y -qq ' + missing.join(' ')],
      {
        stdio: 'inherit',
      },
    );
  }
}

if (process.argv.includes('--build')) {
  run(process.execPath, [
    path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    'tsconfig.build.json',
  ]);
}
