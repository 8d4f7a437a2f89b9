#!/usr/bin/env node
// Committed (not built) so that npm can link the bin before `prepare` has built dist/.
import module from 'node:module';
import { prefork } from '../dist/prefork.js';

// Node's compile cache (`module.enableCompileCache`, Node ≥ 22.8): V8's code for the modules this
// process compiles is kept on disk (os.tmpdir()/node-compile-cache, or NODE_COMPILE_CACHE;
// NODE_DISABLE_COMPILE_CACHE=1 turns it off), so that a later start reads it instead of compiling
// again; the workers of `run -j n` get it through the environment. Node 20 has none.
const cache = module.enableCompileCache?.();
if (cache?.directory) process.env.NODE_COMPILE_CACHE ??= cache.directory;

// `run -j n`: the workers start while this process loads its modules (dist/prefork.js)
prefork(process.argv);
const { main } = await import('../dist/main.js');
process.exitCode = await main(process.argv);
