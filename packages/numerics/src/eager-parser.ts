/**
 * `@regimes/numerics/eager-parser`: imports mathjs's parser and hands it to the expression language
 * at once, for bundles that cannot load it on first use (the dashboard's page has no `require`).
 * Under Node nothing needs this module: the parser is loaded when the first expression is parsed.
 */
import { parse } from 'mathjs/number';
import { provideExpressionParser } from './expression.js';

provideExpressionParser(parse);
