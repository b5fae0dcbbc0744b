/**
 * Real bodies to mutate, taken from the simulators as Loom meets them: RM and NM answers in JSON
 * and XML over HTTP, the nodes' cgroup (v1 and v2) and proc files, the Hadoop configuration and
 * kubeconfig `loom sim` writes, the Node annotations, and yarn-copilot requests as koordlet sends them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SimWorld } from '../../sim/world.js';
import { formatOriginAnnotation, withYarnClaim } from '../../kube/wire.js';
import { bytes, milliCores } from '../../kube/quantity.js';

export interface Body {
  body: string;
  contentType: string;
  url: string;
}

export interface Corpus {
  rm: Record<'info' | 'metrics' | 'nodes' | 'node', Body[]>;
  nm: Record<'info' | 'containers' | 'container', Body[]>;
  /** file name (memory.stat, cpu.max …) → contents seen on the simulated nodes. */
  kernel: Map<string, string[]>;
  yarnSite: string[];
  kubeconfig: string[];
  originAnnotation: string[];
  thirdPartyAnnotation: string[];
  nodeId: string[];
  settingsYaml: string[];
  copilotKill: string[];
  copilotKillByResource: string[];
}

async function both(url: string): Promise<Body[]> {
  const out: Body[] = [];
  for (const accept of ['application/json', 'application/xml']) {
    const res = await fetch(url, { headers: { accept } });
    out.push({ body: await res.text(), contentType: res.headers.get('content-type') ?? '', url });
  }
  return out;
}

const KERNEL_FILES = [
  'memory.stat', 'memory.current', 'memory.usage_in_bytes', 'cpu.stat', 'cpuacct.usage', 'cpu.max', 'cpu.cfs_quota_us',
  'cpu.cfs_period_us', 'memory.pressure', 'cpu.pressure', 'io.pressure', 'cgroup.procs',
];

function addKernel(kernel: Map<string, string[]>, name: string, file: string): void {
  if (!existsSync(file)) return;
  const list = kernel.get(name) ?? [];
  list.push(readFileSync(file, 'utf8'));
  kernel.set(name, list);
}

async function fromWorld(layout: 'v1' | 'v2', corpus: Corpus): Promise<void> {
  const world = await SimWorld.start({ nodes: 1, layout });
  try {
    const d = world.describe();
    const rm = `${d.resourceManagers[0]}/ws/v1/cluster`;
    const n = d.nodes[0]!;
    corpus.rm.info.push(...(await both(`${rm}/info`)));
    corpus.rm.metrics.push(...(await both(`${rm}/metrics`)));
    corpus.rm.nodes.push(...(await both(`${rm}/nodes`)));
    corpus.rm.node.push(...(await both(`${rm}/nodes/${n.nodeId}`)));
    const nm = `${n.nodeManager}/ws/v1/node`;
    corpus.nm.info.push(...(await both(`${nm}/info`)));
    const containers = await both(`${nm}/containers`);
    corpus.nm.containers.push(...containers);
    const id = (JSON.parse(containers[0]!.body) as { containers: { container: { id: string }[] } }).containers.container[0]!.id;
    corpus.nm.container.push(...(await both(`${nm}/containers/${id}`)));
    corpus.copilotKill.push(JSON.stringify({ containerID: id }));

    const yarn = n.yarnCgroupPath;
    const dirs = layout === 'v2'
      ? [n.cgroupRoot, join(n.cgroupRoot, yarn), join(n.cgroupRoot, yarn, id)]
      : ['memory', 'cpu,cpuacct', 'cpu', 'cpuacct'].flatMap((c) => [join(n.cgroupRoot, c), join(n.cgroupRoot, c, yarn), join(n.cgroupRoot, c, yarn, id)]);
    for (const dir of dirs) for (const f of KERNEL_FILES) addKernel(corpus.kernel, f, join(dir, f));
    for (const f of ['meminfo', 'stat', 'mounts']) addKernel(corpus.kernel, `proc/${f}`, join(n.procRoot, f));
    for (const f of ['memory', 'cpu', 'io']) addKernel(corpus.kernel, 'memory.pressure', join(n.procRoot, 'pressure', f));
    const procs = corpus.kernel.get('cgroup.procs')?.flatMap((t) => t.split('\n')).filter(Boolean) ?? [];
    for (const pid of procs.slice(0, 3)) addKernel(corpus.kernel, 'proc/pid/cgroup', join(n.procRoot, pid, 'cgroup'));

    corpus.yarnSite.push(readFileSync(join(d.hadoopConfDir!, 'yarn-site.xml'), 'utf8'));
    corpus.kubeconfig.push(readFileSync(d.kubeconfig, 'utf8'));
    for (const node of world.kube.store.list('nodes').items) {
      const ann = node.metadata.annotations ?? {};
      for (const [k, v] of Object.entries(ann)) {
        if (k.endsWith('originExtendedAllocatable')) corpus.originAnnotation.push(v);
        if (k.endsWith('thirdPartyAllocations')) corpus.thirdPartyAnnotation.push(v);
      }
    }
  } finally {
    await world.stop();
  }
}

let cached: Promise<Corpus> | undefined;

export function realCorpus(): Promise<Corpus> {
  cached ??= (async () => {
    const corpus: Corpus = {
      rm: { info: [], metrics: [], nodes: [], node: [] },
      nm: { info: [], containers: [], container: [] },
      kernel: new Map(),
      yarnSite: [],
      kubeconfig: [],
      originAnnotation: [formatOriginAnnotation({ cpu: milliCores(60646), memory: bytes(10 * 2 ** 30) })],
      thirdPartyAnnotation: [
        withYarnClaim([{ name: 'spark-thrift', priority: 'koord-batch', resources: { 'kubernetes.io/batch-cpu': '2k', 'kubernetes.io/batch-memory': '4Gi' } }],
          { cpu: milliCores(6000), memory: bytes(12 * 2 ** 30) }),
      ],
      nodeId: ['node-1:8041', 'hadoop_nm_1:8041', 'NM-2.example.com:45454', '[::1]:8041', '10.0.0.7:0'],
      settingsYaml: [
        'policy: partitioned\nheadroomShare: 0.5\nhysteresis:\n  cpuMilli: 1000\n  memoryBytes: 1073741824\n  percent: 5\npollSeconds: 2\nmetricsAddr: "0.0.0.0:9464"\n',
        'hysteresis.percent: 7\nrmTimeoutMs: 5000\nleaderElection: true\nlogFormat: text\n',
      ],
      copilotKill: [],
      copilotKillByResource: [
        '{"resources":{"kubernetes.io/batch-cpu":"1500m","kubernetes.io/batch-memory":"1Gi"}}',
        '{"containerID":"","resources":{"kubernetes.io/batch-cpu":"1k"}}',
      ],
    };
    await fromWorld('v2', corpus);
    await fromWorld('v1', corpus);
    return corpus;
  })();
  return cached;
}
