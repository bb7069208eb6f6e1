import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporalTools } from '../local-temporal/tools';

export interface UiServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts Temporal's Web UI server (the one the CLI embeds, built by `scripts/temporal-tools.mjs
 * --server`) for `temporalAddress`, and waits until it answers.
 */
export async function startUiServer({ dataDir, temporalAddress, host, port, namespace, codecEndpoint }: {
  dataDir: string;
  temporalAddress: string;
  host: string;
  port: number;
  namespace: string;
  /** The remote codec the browser decodes payloads with (Ferry's `/codec` on the admin API). */
  codecEndpoint: string;
}): Promise<UiServer> {
  const { uiServer } = temporalTools();
  if (!uiServer) throw new Error('the Temporal UI server is missing: run `node scripts/temporal-tools.mjs --server`');
  mkdirSync(join(dataDir, 'config'), { recursive: true });
  writeFileSync(
    join(dataDir, 'config', 'ferry.yaml'),
    `temporalGrpcAddress: "${temporalAddress}"\nhost: "${host}"\nport: ${port}\nenableUi: true\ndefaultNamespace: "${namespace}"\n` +
      `codec:\n  endpoint: "${codecEndpoint}"\n`,
  );
  const child = spawn(uiServer, ['--root', dataDir, '--config', 'config', '--env', 'ferry', 'start'], { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  child.once('error', () => undefined);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `http://${host}:${port}`;
  for (const deadline = Date.now() + 30_000; ; ) {
    if (child.exitCode !== null) throw new Error(`temporal-ui-server exited with ${child.exitCode}; is port ${port} free?`);
    if (await fetch(url).then((res) => res.ok, () => false)) break;
    if (Date.now() > deadline) throw new Error(`temporal-ui-server did not answer on ${url} within 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      child.kill('SIGKILL');
    },
  };
}
