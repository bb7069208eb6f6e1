import { DefaultLogger, Runtime } from '@temporalio/worker';

/** Where the workers of this Jest process publish workflow metrics. */
export const WORKER_METRICS_PORT = 20000 + (process.pid % 10000);

let installed = false;

/**
 * Installs this test file's worker runtime (warnings only, metrics on WORKER_METRICS_PORT) before
 * its first worker or server. Only files that start workers call it: a runtime holds the port until
 * its last worker and connection close, so one installed by a file without any would hold it for
 * good, and the files after it would lose their metrics.
 */
export function installTestRuntime(): void {
  if (installed) return;
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: {
      metrics: { prometheus: { bindAddress: `127.0.0.1:${WORKER_METRICS_PORT}`, countersTotalSuffix: true, unitSuffix: true } },
    },
  });
  installed = true;
}
