// zod for @regimes/core (and every package through core's `z`), loaded with require from the one
// CommonJS file the build writes (scripts/bundle-generated.mjs) instead of its ~95 ES module files.
// Types come from zod itself (zod.d.ts beside this). The bundle holds one locale, English:
// `z.locales` has `en` alone (scripts/bundle-generated.mjs).
import { createRequire } from 'node:module';

export const { z } = createRequire(import.meta.url)('../generated/zod.cjs');
