/**
 * Settings of `loom release`: every operator setting (so the operator's own settings file and
 * environment work unchanged — in its pod, or as the chart's release Job) plus its own.
 */
import type { SettingSpec } from '../settings/settings.js';
import { operatorSettingSpecs } from './settings.js';

export const releaseSettingSpecs: readonly SettingSpec[] = [
  ...operatorSettingSpecs,
  { key: 'removeClaims', kind: 'boolean', description: "remove Loom's claim entry of every node where YARN holds nothing (other entries stay)", default: false },
  { key: 'leaseWaitSeconds', kind: 'number', min: 0, max: 3600, description: 'how long to wait for a running operator to give up the leader Lease', default: 60 },
];
