/** YARN's own resource units: whole virtual cores and mebibytes (YARN's "MB" is 2^20 bytes). */
export type Vcores = number & { readonly __unit: 'vcores' };
export type MiB = number & { readonly __unit: 'MiB' };

export const vcores = (n: number): Vcores => n as Vcores;
export const mib = (n: number): MiB => n as MiB;

/** A YARN `ResourceInfo` (`{"memory":MB,"vCores":n}`). */
export interface YarnResource {
  memoryMiB: MiB;
  vcores: Vcores;
}
