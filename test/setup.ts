import { DefaultLogger, Runtime } from '@temporalio/worker';

/** Where this Jest process's workers publish workflow metrics (one runtime per process). */
export const WORKER_METRICS_PORT = 20000 + (process.pid % 10000);

// Workers log every state change at INFO; tests only need warnings. The runtime is per process.
try {
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: {
      metrics: { prometheus: { bindAddress: `127.0.0.1:${WORKER_METRICS_PORT}`, countersTotalSuffix: true, unitSuffix: true } },
    },
  });
} catch {
  // Already installed by an earlier test file in this Jest worker.
}
