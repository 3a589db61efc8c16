/**
 * The stores every handler uses, built once per container at cold start from the environment;
 * a missing variable fails the cold start loudly instead of the first request quietly.
 */
import { createDeps } from '#adapters/deps';
import type { Deps } from '#domain/ports';

export const deps: Deps = createDeps();
