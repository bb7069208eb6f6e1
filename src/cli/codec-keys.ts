import { parseArgs } from 'node:util';
import { codecKeys, dataConverter, loadConfig, temporalAddress } from '../config';
import { exitOnStartupError } from '../process';
import type { RunningWorkflow } from '../temporal/codec-key-usage';
import { rewritable, rewriteWorkflows, scanKeyUsage, staleWorkflows } from '../temporal/codec-key-usage';
import { connectClient } from '../temporal/connect';

const USAGE = `Usage: npm run codec:keys -- [--rewrite] [--json]

Reads the history of every running workflow and says which payload codec keys they still need:
a key may be dropped from FERRY_CODEC_KEYS once no workflow uses it.

  --rewrite  ask every running workflow that uses a key other than the first one (or holds
             payloads from before the codec) to continue as new under the first key; pushes
             are left as they are (they end when their dead deliveries are re-pushed or discarded)
  --json     print the usage as JSON
  --help     this text

Reads the same configuration as the API (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, FERRY_CODEC_KEYS or
the key file in FERRY_DATA_DIR).`;

const sample = (workflows: RunningWorkflow[]) =>
  workflows.slice(0, 3).map((w) => w.workflowId).join(', ') + (workflows.length > 3 ? ', …' : '');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rewrite: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help) return console.log(USAGE);
  const config = loadConfig();
  const first = codecKeys(config)[0]!.id;
  const { client, connection } = await connectClient(temporalAddress(config), config.TEMPORAL_NAMESPACE, dataConverter(config));
  try {
    const usage = await scanKeyUsage(client);
    const stale = staleWorkflows(usage, first);
    const asked = values.rewrite ? await rewriteWorkflows(client, stale.filter(rewritable)) : 0;
    if (values.json) return console.log(JSON.stringify({ firstKey: first, ...usage, ...(values.rewrite ? { rewriteAsked: asked } : {}) }));
    console.log(`${usage.running} running workflows; the first key is "${first}"`);
    for (const [id, workflows] of Object.entries(usage.byKey)) console.log(`key "${id}": ${workflows.length} (${sample(workflows)})`);
    console.log(`in clear, from before the codec: ${usage.plain.length}${usage.plain.length ? ` (${sample(usage.plain)})` : ''}`);
    if (values.rewrite) {
      const pushes = stale.filter((w) => !rewritable(w)).length;
      console.log(`asked ${asked} workflows to continue as new under "${first}"; run again in a minute to check`);
      if (pushes > 0) console.log(`${pushes} pushes keep theirs until they end (re-push or discard their dead deliveries)`);
    }
  } finally {
    await connection.close();
  }
}

main().catch(exitOnStartupError);
