// node:module for the browser build: createRequire(url)(path) answers only package.json versions,
// from the table the build wrote (scripts/build-web.mjs replaces each module's import.meta.url
// with its path in the repository, so '../package.json' resolves to the package it belongs to).
/* global __REGIMES_PACKAGES__ */
const packages = __REGIMES_PACKAGES__;

export function createRequire(from) {
  return (request) => {
    const base = String(from).replace(/^regimes:/, '');
    const path = request.startsWith('.')
      ? new URL(request, `http://x${base}`).pathname.replace(/^\//, '')
      : `node_modules/${request}`;
    const found = packages[path];
    if (!found) throw new Error(`${request} is not available in the browser build of regimes`);
    return found;
  };
}
// Loader hooks (core's plugin loading shares one tfjs-core through them) do not exist in a page:
// core checks for a function and skips them.
export const register = undefined;
export default { createRequire, register };
