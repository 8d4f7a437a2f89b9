// tfjs-core as @regimes/numerics/tfjs loads it (with require: a faster process start than `import`),
// for plugins that depend on core alone.
export { default } from '@regimes/numerics/tfjs';
