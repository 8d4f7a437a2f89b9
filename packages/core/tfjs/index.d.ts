// The default export is tfjs-core's namespace (values and types), as from @regimes/numerics/tfjs.
export { default } from '@regimes/numerics/tfjs';
