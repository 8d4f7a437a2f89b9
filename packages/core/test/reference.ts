// Float64 references shared by the linear-algebra tests: those of @regimes/core/testing.
export { eigenResidual, relativeError, symmetricWithSpectrum } from '../src/testing/reference.js';
