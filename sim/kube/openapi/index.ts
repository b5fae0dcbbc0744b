/** The simulator's OpenAPI: published documents and the field validation they promise. */
export { openApiV2, openApiV3, type V3Documents } from './documents.js';
export { encodeOpenApiV2 } from './proto.js';
export { fieldValidationOf, unknownFields, type FieldValidation } from './field-validation.js';
export { DEFINITIONS, KIND_DEFINITION } from './definitions.js';
