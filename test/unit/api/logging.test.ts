import Fastify from 'fastify';
import { createApiLogger } from '../../../src/api/server';

test('request log lines never carry a token sent as ?token=', async () => {
  const lines: string[] = [];
  const app = Fastify({ loggerInstance: createApiLogger('info', { write: (line: string) => void lines.push(line) }) });
  app.get('/api/:ns/:queue', async () => ({}));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  await fetch(`${url}/api/demo/q?ttr=30&token=s3cr3t-token&timeout=0`);
  await fetch(`${url}/api/demo/q?TOKEN=default:s3cr3t-token`);
  await fetch(`${url}/api/demo/q?%74oken=s3cr3t-token&x=1`);
  await fetch(`${url}/api/demo/q?t%6Fken=s3cr3t-token#frag`);
  await app.close();
  const requests = lines.filter((l) => l.includes('incoming request'));
  expect(requests).toHaveLength(4);
  expect(requests[2]).toContain('/api/demo/q?%74oken=[redacted]&x=1');
  expect(lines.join('\n')).not.toContain('s3cr3t-token');
  expect(requests[0]).toContain('/api/demo/q?ttr=30&token=[redacted]&timeout=0');
});
