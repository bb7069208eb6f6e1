import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_SERVER_DYNAMIC_CONFIG } from '../../src/temporal/search-attributes';

const root = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

test('the Temporal of docker-compose.yml gets the dynamic config of the embedded dev server', () => {
  const devServer = DEV_SERVER_DYNAMIC_CONFIG.filter((_, i) => i % 2 === 1).map((pair) => pair.split('='));
  expect(devServer.length).toBeGreaterThan(0);
  const file = read('deploy/temporal/dynamicconfig.yaml');
  // Each key of the file: `key:` then `  - value: <json>` (constraints are not used).
  const compose = Object.fromEntries([...file.matchAll(/^([\w.]+):\n\s+- value: (.+)$/gm)].map((m): [string, string] => [m[1] ?? '', m[2] ?? '']));
  expect(compose).toEqual(Object.fromEntries(devServer));
  expect(read('docker-compose.yml')).toContain('./deploy/temporal/dynamicconfig.yaml:/etc/temporal/config/dynamicconfig/ferry.yaml');
  expect(read('docker-compose.yml')).toContain('DYNAMIC_CONFIG_FILE_PATH: config/dynamicconfig/ferry.yaml');
});
