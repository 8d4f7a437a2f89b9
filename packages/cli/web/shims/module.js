// node:module for the browser build: createRequire(url)(path) answers package.json versions, from
// the table the build wrote (scripts/build-web.mjs replaces each module's import.meta.url with its
// path in the repository, so '../package.json' resolves to the package it belongs to), and the
// libraries that Node code loads with require, from this bundle: the two core loads on first use
// (core's lazy.ts), inversify and zod (which core's deps/ load from the CommonJS files the build
// writes into packages/core/generated/; here their ES modules) and tfjs-backend-wasm (backend-node's
// wasm.ts).
/* global __REGIMES_PACKAGES__ */
import * as tfjsWasm from '@tensorflow/tfjs-backend-wasm';
import * as inversify from 'inversify';
import semver from 'semver';
import * as yaml from 'yaml';
import * as zod from 'zod';

const packages = __REGIMES_PACKAGES__;
const libraries = {
  semver,
  yaml,
  '../generated/inversify.cjs': inversify,
  '../generated/zod.cjs': zod,
  '@tensorflow/tfjs-backend-wasm': tfjsWasm,
};

export function createRequire(from) {
  return (request) => {
    if (Object.hasOwn(libraries, request)) return libraries[request];
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
