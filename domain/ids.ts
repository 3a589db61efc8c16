import { randomBytes } from 'node:crypto';

/** 128 random bits as 32 hex characters: upload nonces and attempt ids. */
export const newId = (): string => randomBytes(16).toString('hex');
