/** Plain-fetch helpers for the YARN simulator suites (no Loom client on purpose). */
import { XMLParser } from 'fast-xml-parser';

export interface Got {
  status: number;
  headers: Headers;
  text: string;
}

export async function http(url: string, init: RequestInit = {}): Promise<Got> {
  const r = await fetch(url, { redirect: 'manual', ...init });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

export const get = (url: string, accept?: string): Promise<Got> => http(url, accept ? { headers: { Accept: accept } } : {});

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Got> {
  return http(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

export function json<T = any>(g: Got): T {
  return JSON.parse(g.text) as T;
}

const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: true, isArray: (name) => ['node', 'container', 'containerLogFiles'].includes(name) });

export function parseXml<T = any>(g: Got): T {
  return xml.parse(g.text) as T;
}

/** fetch must fail at the socket: connection refused. */
export async function refused(url: string): Promise<string> {
  try {
    const r = await fetch(url);
    return `unexpected HTTP ${r.status}`;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return cause?.code ?? String(err);
  }
}

export const resizePath = (nodeId: string): string => `/ws/v1/cluster/nodes/${nodeId}/resource`;
