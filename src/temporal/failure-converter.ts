import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces travel as an encoded payload (the codec encrypts it), leaving
 * "Encoded failure" in Temporal; failure types stay readable. Loaded by path in the workflow
 * sandbox too, so it imports nothing but the SDK.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
