import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devServerDynamicConfigArgs } from '../../../src/local-temporal/dynamic-config';

const root = join(__dirname, '..', '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

test('the dev server, the cluster and docker-compose.yml read one dynamic-config file', () => {
  expect(devServerDynamicConfigArgs()).toEqual(['--dynamic-config-value', 'system.enableActivityEagerExecution=true']);
  expect(read('docker-compose.yml')).toContain('./deploy/temporal/dynamicconfig.yaml:/etc/temporal/config/dynamicconfig/ferry.yaml');
  expect(read('docker-compose.yml')).toContain('DYNAMIC_CONFIG_FILE_PATH: config/dynamicconfig/ferry.yaml');
});

test('values become JSON flags; a constrained value, which the dev server cannot scope, is refused', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'ferry-dc-')), 'dc.yaml');
  writeFileSync(file, 'a.b:\n  - value: 3\nc.d:\n  - value: "x"\n');
  expect(devServerDynamicConfigArgs(file)).toEqual(['--dynamic-config-value', 'a.b=3', '--dynamic-config-value', 'c.d="x"']);
  writeFileSync(file, 'a.b:\n  - value: 3\n    constraints:\n      namespace: ferry\n');
  expect(() => devServerDynamicConfigArgs(file)).toThrow('a.b has constraints');
});
