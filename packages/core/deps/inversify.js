// inversify for @regimes/core, loaded with require from the one CommonJS file the build writes
// (scripts/bundle-generated.mjs): Node's ESM loader would otherwise load its ~250 module files one
// by one at every process's start. Types come from inversify itself (inversify.d.ts beside this).
import { createRequire } from 'node:module';

const inversify = createRequire(import.meta.url)('../generated/inversify.cjs');

export const { Container, ContainerModule } = inversify;
