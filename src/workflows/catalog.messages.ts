import { defineQuery, defineSignal } from '@temporalio/workflow';

/** Which namespaces have a registry of one kind (endpoints, tokens), and each one's table version. */
export interface RegistryCatalog {
  version: number;
  namespaces: Record<string, number>;
}

/** A namespace's registry tells its catalog the new version after every change. */
export const namespaceChangedSignal = defineSignal<[{ namespace: string; version: number }]>('namespaceChanged');
/** Answers null when the caller's version is current. */
export const catalogQuery = defineQuery<RegistryCatalog | null, [{ knownVersion?: number }]>('catalog');

/** A write refused because the namespace is at one of its quotas (the API answers 400). */
export const QUOTA_EXCEEDED = 'QuotaExceeded';
