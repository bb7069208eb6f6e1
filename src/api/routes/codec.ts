import cors from '@fastify/cors';
import type { Payload } from '@temporalio/common';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { codecCorsOrigins } from '../../config';
import { UnknownCodecKeyError } from '../../temporal/payload-codec';
import { badRequest } from '../errors';

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64');
/** A payload as Temporal's remote codec protocol carries it: proto3 JSON, bytes in base64. */
const wirePayload = z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() });
const codecBody = z.object({ payloads: z.array(wirePayload).max(10_000) });
type WirePayload = z.infer<typeof wirePayload>;

const fromWire = ({ metadata, data }: WirePayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(data ?? '', 'base64'),
});
const toWire = ({ metadata, data }: Payload): WirePayload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
  data: Buffer.from(data ?? []).toString('base64'),
});

/** A whole workflow's payloads in one call: Temporal's 2 MB blobs, several at once. */
const BODY_LIMIT = 16 * 1024 * 1024;

/**
 * Temporal's remote codec protocol (`POST /codec/encode`, `POST /codec/decode`), so the Web UI and
 * `temporal workflow show --codec-endpoint` show payloads in the clear to whoever may use the admin
 * API. Registered inside the admin routes: the same basic auth guards it when accounts are set.
 * Browsers call it from the Web UI's origin, hence CORS for those origins only.
 */
export const codecRoutes: FastifyPluginAsync<{ guard: object }> = async (fastify, { guard }) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { payloadCodecs, config } = app.ferry;
  await app.register(cors, {
    origin: codecCorsOrigins(config),
    methods: ['POST'],
    allowedHeaders: ['content-type', 'x-namespace', 'authorization'],
    credentials: true,
    maxAge: 600,
  });
  const schema = { body: codecBody, response: { 200: codecBody } };
  app.post('/encode', { ...guard, bodyLimit: BODY_LIMIT, schema }, async (request) => {
    let payloads = request.body.payloads.map(fromWire);
    for (const codec of payloadCodecs) payloads = await codec.encode(payloads);
    return { payloads: payloads.map(toWire) };
  });
  app.post('/decode', { ...guard, bodyLimit: BODY_LIMIT, schema }, async (request) => {
    let payloads = request.body.payloads.map(fromWire);
    try {
      for (const codec of [...payloadCodecs].reverse()) payloads = await codec.decode(payloads);
    } catch (err) {
      if (err instanceof UnknownCodecKeyError) throw badRequest(err.message);
      // An encrypted payload that fails authentication: altered, or not one of ours.
      throw badRequest('a payload could not be decrypted');
    }
    return { payloads: payloads.map(toWire) };
  });
};
