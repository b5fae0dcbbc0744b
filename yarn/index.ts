/** Typed YARN REST clients (RM with HA, NM), their model, and RM discovery from yarn-site.xml. */
export * from './errors.js';
export * from './model.js';
export * from './ids.js';
export * from './resource.js';
export { decodeBody, formatOfContentType, parseJsonDocument, parseXmlDocument, type BodyFormat } from './document.js';
export * from './parse.js';
export { serializeResourceOption, assertSendableResource } from './serialize.js';
export {
  YarnHttp, encodePathSegment, normaliseBaseUrl,
  type HttpMethod, type YarnHttpOptions, type YarnRequest, type YarnRequestEvent, type YarnResponse,
} from './http.js';
export {
  ResourceManagerClient, RM_BASE_PATH, dedupeNodesByHost,
  type ListNodesOptions, type NodeResourceUpdate, type ResourceManagerClientOptions, type RmEpoch, type RmNodeList,
} from './rm-client.js';
export {
  NodeManagerClient, DEFAULT_NM_URL, NM_BASE_PATH, liveContainersOf,
  type NmContainerList, type NmNodeInfoReading, type NodeManagerClientOptions,
} from './nm-client.js';
export * from './site.js';
