/**
 * The V8 flags Loom's long-running programs are deployed with (docs/operations.md sets them as
 * NODE_OPTIONS in the manifests; the benchmarks run with them). V8 otherwise sizes its heap for
 * the whole machine and lets it grow to several times the live set before collecting.
 *
 * - operator: the live heap is ≈ 115 MB at 5,000 nodes / 150,000 pods; 320 MB leaves room for a
 *   150k-pod relist. Raise it (and the container's memory limit) for much larger clusters.
 * - agent: a small live set (≈ 20 MB at 200 containers) with a steady trickle of short-lived
 *   allocations; a 1 MB young generation keeps the resident size near the live set. (The agent
 *   also keeps undici's WebAssembly HTTP parser on V8's baseline tier itself: agent/agent.ts.)
 *
 * Both are accepted in NODE_OPTIONS.
 */
/**
 * The operator's old-space size for a cluster of `nodes` nodes (≈ 30 pods each): the shipped 320 MB
 * up to 8,000 nodes, 40 MB per 1,000 nodes beyond (the live heap grows ≈ 23 MB per 1,000 nodes;
 * the rest is room for a relist and the collector). docs/operations.md gives the same rule.
 */
export const operatorHeapMbFor = (nodes: number): number => Math.max(320, Math.ceil((40 * nodes) / 1000));

export const RUNTIME_FLAGS = {
  operator: ['--max-old-space-size=320'],
  agent: ['--max-semi-space-size=1', '--max-old-space-size=96'],
} as const;

/**
 * Process environment each long-running program is started with (the image's entrypoint sets
 * each one unless the container already does; the benchmarks start the agent with them).
 *
 * - agent: `MALLOC_ARENA_MAX=2`. glibc gives each thread that allocates an arena of its own; the
 *   agent has a dozen threads (its fast watch's thread, V8's and libuv's), and two arenas keep
 *   its peak resident size ≈ 4–5 MB lower (93–94 against 97–99 MB in the reaction benchmark)
 *   at no cost the benchmarks can see.
 */
export const RUNTIME_ENV: { readonly [program in keyof typeof RUNTIME_FLAGS]?: Readonly<Record<string, string>> } = {
  agent: { MALLOC_ARENA_MAX: '2' },
};
