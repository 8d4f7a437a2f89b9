// tfjs-core for every regimes package, loaded with require: Node's `import` of a CommonJS module
// first scans its whole source for export names (cjs-module-lexer, over tfjs-core's 1.2 MB bundle)
// and compiles it once more to detect its format. require skips both: the same module instance
// (one Module cache), ~0.1 s and ~0.15 CPU s less per process start (docs/architecture.md).
import { createRequire } from 'node:module';

export default createRequire(import.meta.url)('@tensorflow/tfjs-core');
