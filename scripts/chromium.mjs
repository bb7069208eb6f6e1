// Makes sure the browser the Web UI test drives is here: Debian's Chromium, installed with apt-get
// when it is missing and this runs as root (as CI does), else a message saying how to get it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const path = process.env.FERRY_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(path)) {
  if (process.getuid?.() !== 0) {
    console.error(`Chromium is not installed (${path}); run: sudo apt-get install -y chromium, or set FERRY_CHROMIUM`);
    process.exit(1);
  }
  console.log('installing Chromium (apt-get install chromium)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env });
}
console.log(execFileSync(path, ['--version'], { encoding: 'utf8' }).trim());
