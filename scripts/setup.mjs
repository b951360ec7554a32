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

// Tools the test suite runs: openssl makes the TLS test's certificate, Debian's chromium runs the
// browser tests (playwright-core drives /usr/bin/chromium; it downloads no browser). On Debian as
// root they are installed when missing, as a fresh CI machine may lack them; elsewhere the suite
// that needs one skips with a printed reason (and fails under CI=true).
if (process.argv.includes('--test-tools')) {
  const hasCommand = (tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  const missing = [
    ...(hasCommand('openssl') ? [] : ['openssl']),
    ...(existsSync('/usr/bin/chromium') ? [] : ['chromium']),
  ];
  const hasApt = existsSync('/usr/bin/apt-get');
  if (missing.length > 0 && hasApt && process.getuid?.() === 0) {
    aptInstall(missing);
  } else if (missing.length > 0) {
    const how = hasApt ? `sudo apt-get install -y ${missing.join(' ')}` : 'your package manager';
    console.log(
      `setup: ${missing.join(', ')} missing and not installed (needs root and apt-get); ` +
        `install with ${how}. Until then the suites that need them skip (and fail with CI=true).`,
    );
  }
}

/** Installs Debian packages non-interactively; reads the package lists first if they are stale. */
function aptInstall(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => execFileSync('apt-get', args, { stdio: 'inherit', env });
  const install = ['install', '-y', '-qq', '--no-install-recommends', ...packages];
  console.log(`setup: installing ${packages.join(', ')} with apt-get…`);
  try {
    apt(install);
  } catch {
    // A fresh image has no package lists (or outdated ones): read them and try once more.
    apt(['update', '-qq']);
    apt(install);
  }
}

if (process.argv.includes('--build')) {
  run(process.execPath, [
    path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    'tsconfig.build.json',
  ]);
}
