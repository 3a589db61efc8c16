/**
 * The types of `./hashdrop.js`, the browser SDK bundle that `npm run build` copies beside the
 * app (dist/web/hashdrop.js): the app is type-checked against the SDK's own declarations, and
 * its bundle keeps `./hashdrop.js` as an import, so the page loads the SDK as any app would.
 */
export * from '../sdk/browser.ts';
