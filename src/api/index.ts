/**
 * The API layer: types of our pool kinds and of the Cluster API kinds we consume, the names every
 * layer shares, the CRD schema source, and pure defaulting, validation and conversion.
 * Imports only src/ip.
 */
export * from './capi-types.js';
export * from './constants.js';
export * from './convert.js';
export * from './errors.js';
export * from './install.js';
export * from './ippool-types.js';
export * from './meta.js';
export * from './names.js';
export * from './prefixpool-types.js';
export {
  buildCrd,
  type ConversionWebhook,
  type CrdOptions,
  type CrdSource,
  type CustomResourceDefinition,
  conversionStanza,
  crdName,
} from './schema/crd.js';
export {
  CAPI_TEST_CRD_SOURCES,
  INSTALLED_CRD_OPTIONS,
  OUR_CRD_SOURCES,
  type RenderedFile,
  renderCrdFiles,
  toYaml,
} from './schema/index.js';
export { type StructuralOptions, validateAgainstSchema } from './schema/structural.js';
export * from './selector.js';
export * from './validate.js';
export * from './validate-extensions.js';
export * from './validate-prefix.js';
export * from './warnings.js';
