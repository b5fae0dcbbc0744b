/** The per-node table shown while the demo runs: redrawn in place on a TTY, plain lines otherwise. */
import type { Policy, Sample } from './runner.js';

const cores = (m: number) => (m / 1000).toFixed(1);
const gib = (b: number) => (b / 2 ** 30).toFixed(1);

/** Pure: the table's lines for one sample. */
export function tableLines(s: Sample, policy: Policy): string[] {
  const head = ['NODE', 'ORIGIN', 'K8S-REQ', 'YARN-CAP', 'YARN-USED', 'CLAIM', 'DOUBLE-BOOKED', 'MEM%', 'EVICT'];
  const rows = Object.entries(s.nodes).map(([name, n]) => [
    name,
    `${cores(n.origin.cpu)}c/${gib(n.origin.memory)}G`,
    `${cores(n.k8s.cpu)}c/${gib(n.k8s.memory)}G`,
    `${cores(n.yarnCapacity.cpu)}c/${gib(n.yarnCapacity.memory)}G`,
    `${cores(n.yarnUsed.cpu)}c/${gib(n.yarnUsed.memory)}G`,
    `${cores(n.claim.cpu)}c/${gib(n.claim.memory)}G`,
    `${cores(n.doubleBooked.cpu)}c/${gib(n.doubleBooked.memory)}G`,
    n.memoryUsedPercent.toFixed(0),
    String(n.evictions),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [`policy ${policy}   t = ${s.t.toFixed(1)} s`, fmt(head), ...rows.map(fmt)];
}

/** What each column means, printed under every table. */
export const TABLE_LEGEND: readonly string[] = [
  'ORIGIN batch capacity koord-manager publishes · K8S-REQ batch requested by Kubernetes pods (NodeManager pod included)',
  'YARN-CAP capacity the RM offers YARN · YARN-USED what YARN allocated · CLAIM what Kubernetes sets aside for YARN (thirdPartyAllocations)',
  'DOUBLE-BOOKED offered to YARN and to Kubernetes at once · MEM% node memory used · EVICT YARN containers the agent evicted',
  'cores c / GiB G; t in simulated seconds',
];

export class LiveTable {
  private drawn = 0;
  private lastPlain = -Infinity;
  constructor(private readonly out: NodeJS.WriteStream = process.stdout, private readonly plainEverySec = 10) {}

  update(s: Sample, policy: Policy): void {
    const lines = tableLines(s, policy);
    const legend = TABLE_LEGEND.map((l) => `  ${l}`);
    if (this.out.isTTY) {
      lines.push(...legend);
      if (this.drawn) this.out.write(`\x1b[${this.drawn}A`);
      this.out.write(lines.map((l) => `\x1b[2K${l}`).join('\n') + '\n');
      this.drawn = lines.length;
    } else if (s.t - this.lastPlain >= this.plainEverySec) {
      // Plain output (a log, a pipe): the legend once per run, above its first table.
      if (this.lastPlain === -Infinity) this.out.write(legend.join('\n') + '\n\n');
      this.lastPlain = s.t;
      this.out.write(lines.join('\n') + '\n\n');
    }
  }

  /** Start a fresh table (the next policy run). */
  reset(): void {
    this.drawn = 0;
    this.lastPlain = -Infinity;
  }
}
