/**
 * The local dev issuer for a stack that `npm start` does not run (the LocalStack variant): the
 * same signing key as `npm start` (.hashdrop/dev-signing-key.json, made on first use), its public
 * key set for the REST API's authorizer, and tokens.
 *
 *   npx tsx local/dev-auth.ts jwks          the JWKS to deploy with (HASHDROP_JWKS)
 *   npx tsx local/dev-auth.ts context       the -c flags naming its issuer and audience
 *   npx tsx local/dev-auth.ts token alice   a bearer token for user alice (HASHDROP_TOKEN)
 */
import { join, resolve } from 'node:path';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, loadOrCreateSigningKey, mintToken, publishedKeySet } from './auth.ts';

const USAGE = 'usage: npx tsx local/dev-auth.ts jwks | context | token <user> [ttl-seconds]';

const keyFile = join(resolve(process.env.HASHDROP_DATA_DIR ?? '.hashdrop'), 'dev-signing-key.json');
const [command, user, ttl] = process.argv.slice(2);

if (command === 'jwks') {
  console.log(JSON.stringify(publishedKeySet(await loadOrCreateSigningKey(keyFile))));
} else if (command === 'context') {
  console.log(`-c jwtIssuer=${LOCAL_ISSUER} -c jwtAudience=${LOCAL_AUDIENCE}`);
} else if (command === 'token' && user) {
  const ttlSeconds = ttl === undefined ? undefined : Number(ttl);
  if (ttlSeconds !== undefined && !(Number.isSafeInteger(ttlSeconds) && ttlSeconds > 0)) {
    console.error(USAGE);
    process.exit(2);
  }
  console.log(await mintToken(await loadOrCreateSigningKey(keyFile), user, ttlSeconds ? { ttlSeconds } : {}));
} else {
  console.error(USAGE);
  process.exit(2);
}
