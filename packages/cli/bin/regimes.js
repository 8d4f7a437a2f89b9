#!/usr/bin/env node
// Committed (not built) so that npm can link the bin before `prepare` has built dist/.
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv);
