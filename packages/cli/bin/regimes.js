#!/usr/bin/env node
// Committed (not built) so that npm can link the bin before `prepare` has built dist/.
import { prefork } from '../dist/prefork.js';

// `run -j n`: the workers start while this process loads its modules (dist/prefork.js)
prefork(process.argv);
const { main } = await import('../dist/main.js');
process.exitCode = await main(process.argv);
