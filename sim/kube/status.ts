/**
 * `metav1.Status` errors, shaped and worded like the real apiserver's (k8s.io/apimachinery
 * `errors.New*`), so clients that switch on `reason`/`code` behave as they would in a cluster.
 */
import { type ResourceDef, qualifiedResource } from './resources.js';

export type StatusReason =
  | 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Invalid' | 'BadRequest' | 'Expired' | 'Gone'
  | 'UnsupportedMediaType' | 'MethodNotAllowed' | 'NotAcceptable' | 'Unauthorized' | 'Forbidden' | 'InternalError' | 'Timeout';

export interface StatusCause { reason?: string; message: string; field?: string }

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
}

export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

/** A request the API refuses; carries the Status the HTTP layer sends. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toStatus(): StatusObject {
    const s: StatusObject = {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

function detailsFor(def: ResourceDef, name: string): StatusDetails {
  const d: StatusDetails = { name, kind: def.plural };
  if (def.group) d.group = def.group;
  return d;
}

export function notFound(def: ResourceDef, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(def)} "${name}" not found`, detailsFor(def, name));
}

export function alreadyExists(def: ResourceDef, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(def)} "${name}" already exists`, detailsFor(def, name));
}

export function conflict(def: ResourceDef, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(def)} "${name}": ${why}`, detailsFor(def, name));
}

/** 422 with field causes, message like `Pod "p" is invalid: spec.containers: Required value`. */
export function invalid(def: ResourceDef, name: string, causes: StatusCause[]): ApiError {
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  const details: StatusDetails = { name, kind: def.kind, causes };
  if (def.group) details.group = def.group;
  return new ApiError(422, 'Invalid', `${def.kind} "${name}" is invalid: ${summary}`, details);
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function unsupportedMediaType(contentType: string, accepted: readonly string[]): ApiError {
  return new ApiError(415, 'UnsupportedMediaType',
    `the body of the request was in an unknown format${contentType ? ` (${contentType})` : ''} - accepted media types include: ${accepted.join(', ')}`);
}

export function methodNotAllowed(method: string): ApiError {
  return new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`);
}

export function pathNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource');
}

export function successStatus(def: ResourceDef, name: string, uid?: string): Record<string, unknown> {
  const details: StatusDetails = detailsFor(def, name);
  if (uid) details.uid = uid;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}
