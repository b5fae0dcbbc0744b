/** The simulator's OpenAPI: published documents and the field validation they promise. */
export { openApiV2, openApiV3, type V3Documents } from './documents.js';
export { encodeOpenApiV2 } from './proto.js';
export { fieldValidationOf, unknownFields, withoutUnknownFields, type FieldValidation } from './field-validation.js';
export { BINDING_DEFINITION, DEFINITIONS, KIND_DEFINITION } from './definitions.js';
export { serveOpenApi, OPENAPI_V2_PROTOBUF } from './serve.js';
