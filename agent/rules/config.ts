/**
 * Settings of the QoS rules. Names and defaults follow koordlet's `resource-threshold-config`
 * (reference/koordinator.md §5.2) where it has one; the rest are Loom's own.
 *
 * Strings holding a number (`"70"`) and comma-separated victim orders (`"newest,largest-memory"`)
 * are accepted too, so values coming from `LOOM_*` environment variables parse unchanged.
 */
import { z } from 'zod';
import { InputError } from '../../input/input-error.js';

export const VICTIM_KEYS = ['newest', 'oldest', 'largest-memory', 'largest-cpu', 'most-failed-app', 'app-spread'] as const;
export type VictimKey = (typeof VICTIM_KEYS)[number];

/**
 * Whether the rules may evict ApplicationMasters (always last in the victim order):
 * - `always`: never (the rule holds with `application-masters-protected` instead);
 * - `except-emergency` (default): only at the memory emergency level, and only after every other
 *   container: memory is incompressible and the node (and its online pods) come before one app;
 * - `never`: AMs are ordinary last-resort victims for every rule.
 * `true` / `false` are accepted for `always` / `never`.
 * `killContainersByResource` excludes AMs whatever this says (koordinator's proposal, §3.7).
 */
export const AM_PROTECTION = ['always', 'except-emergency', 'never'] as const;
export type AmProtection = (typeof AM_PROTECTION)[number];

const numeric = (v: unknown): unknown =>
  typeof v === 'string' && /^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/.test(v) ? Number(v) : v;
const num = <T extends z.ZodType>(schema: T) => z.preprocess(numeric, schema);

const percent = () => num(z.number().min(0).max(100));

const victimOrder = (def: VictimKey[]) =>
  z
    .preprocess(
      (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : v),
      z.array(z.enum(VICTIM_KEYS)).refine((a) => new Set(a).size === a.length, 'victim order keys must not repeat'),
    )
    .default(def);

/** The raw shape, for a caller that wants to embed these keys in a larger agent config object. */
export const rulesConfigShape = {
  memoryEvictThresholdPercent: num(z.number().gt(0).max(100)).default(70),
  /** Default: threshold − 2. Must be below the threshold. */
  memoryEvictLowerPercent: percent().optional(),
  memoryEvictCoolTimeSeconds: num(z.number().min(0)).default(4),
  /**
   * Node memory used ≥ this % → evictions are `immediate` (SIGKILL / cgroup.kill) and ignore the
   * memory cool-down and the rate limit. Default: max(90, threshold + 5), capped at 100.
   */
  memoryEmergencyPercent: percent().optional(),

  cpuSuppressThresholdPercent: num(z.number().gt(0).max(100)).default(65),
  /** Floor of the YARN CPU limit, in % of node capacity. */
  cpuSuppressMinPercent: percent().optional(),
  /** Largest increase of the YARN CPU limit per tick, in % of capacity (decreases apply at once). */
  cpuSuppressMaxStepPercent: num(z.number().min(1).max(100)).default(10),

  /** Unset = CPU eviction off. Allowed (0, 60]. */
  cpuEvictBESatisfactionLowerPercent: num(z.number().gt(0).max(60)).optional(),
  /** Required when the lower bound is set; ≥ lower, < 100. */
  cpuEvictBESatisfactionUpperPercent: num(z.number().gt(0).lt(100)).optional(),
  cpuEvictBEUsageThresholdPercent: percent().default(90),
  /**
   * Satisfaction window. koordlet defaults to its 1 s collect interval (a single sample can evict);
   * Loom defaults to 30 s. Eviction needs ≥ ceil(window / 3) samples (one per 1 s tick) in it.
   */
  cpuEvictTimeWindowSeconds: num(z.number().min(1)).default(30),
  cpuEvictCoolTimeSeconds: num(z.number().min(0)).default(20),

  /** Memory PSI `full avg10` (%) of the YARN parent or the node that evicts one victim. Unset = off. */
  psiEvictThreshold: num(z.number().gt(0).max(100)).optional(),
  /** Order of PSI victims (after AMs-last and OPPORTUNISTIC-first). */
  psiVictimOrder: victimOrder(['largest-memory', 'newest']),

  victimOrder: victimOrder(['newest']),
  /** Non-emergency evictions per sliding minute (all rules together). 0 holds them all. */
  maxEvictionsPerMinute: num(z.number().int().min(0)).default(10),
  gracePeriodSeconds: num(z.number().min(0)).default(10),
  protectApplicationMasters: z
    .union([z.boolean(), z.enum(AM_PROTECTION)])
    .transform((v): AmProtection => (v === true ? 'always' : v === false ? 'never' : v))
    .default('except-emergency'),
};

const rawObject = z.object(rulesConfigShape);
type Raw = z.output<typeof rawObject>;

/** Cross-field checks, for a caller that parsed {@link rulesConfigShape} inside its own object. */
export function checkRulesConfig(c: Raw, ctx: { addIssue: (i: { code: 'custom'; message: string; path: string[] }) => void }): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', message, path: [path] });
  if (c.memoryEvictLowerPercent !== undefined && c.memoryEvictLowerPercent >= c.memoryEvictThresholdPercent) {
    issue('memoryEvictLowerPercent', `must be below memoryEvictThresholdPercent (${c.memoryEvictThresholdPercent})`);
  }
  if (c.memoryEmergencyPercent !== undefined && c.memoryEmergencyPercent < c.memoryEvictThresholdPercent) {
    issue('memoryEmergencyPercent', `must be at least memoryEvictThresholdPercent (${c.memoryEvictThresholdPercent})`);
  }
  const lo = c.cpuEvictBESatisfactionLowerPercent;
  const hi = c.cpuEvictBESatisfactionUpperPercent;
  if (lo !== undefined && hi === undefined) {
    issue('cpuEvictBESatisfactionUpperPercent', 'is required when cpuEvictBESatisfactionLowerPercent is set');
  }
  if (lo !== undefined && hi !== undefined && hi < lo) {
    issue('cpuEvictBESatisfactionUpperPercent', `must be at least cpuEvictBESatisfactionLowerPercent (${lo})`);
  }
}

/** Fills the defaults that depend on other settings. */
export function completeRulesConfig(c: Raw): RulesConfig {
  const threshold = c.memoryEvictThresholdPercent;
  return {
    ...c,
    memoryEvictLowerPercent: c.memoryEvictLowerPercent ?? Math.max(0, threshold - 2),
    memoryEmergencyPercent: c.memoryEmergencyPercent ?? Math.min(100, Math.max(90, threshold + 5)),
  };
}

export const RulesConfigSchema = rawObject.superRefine(checkRulesConfig).transform(completeRulesConfig);

export type RulesConfigInput = z.input<typeof RulesConfigSchema>;
export type RulesConfig = Omit<Raw, 'memoryEvictLowerPercent' | 'memoryEmergencyPercent'> & {
  memoryEvictLowerPercent: number;
  memoryEmergencyPercent: number;
};

/** Source of rule settings once flags, environment and file are merged. */
const RULES_SOURCE = 'agent rule settings';

export class RulesConfigError extends InputError {
  /** `key: problem` per bad key. */
  readonly issues: readonly string[];
  constructor(issues: readonly { key: string; problem: string }[]) {
    const [first, ...rest] = issues;
    super(RULES_SOURCE, [first?.problem ?? 'invalid', ...rest.map((i) => `${i.key}: ${i.problem}`)].join('; '), first?.key ? { key: first.key } : {});
    this.name = 'RulesConfigError';
    this.issues = issues.map((i) => `${i.key}: ${i.problem}`);
  }
}

/** Parse and complete; throws {@link RulesConfigError} naming every bad key. */
export function parseRulesConfig(input: unknown = {}): RulesConfig {
  const r = RulesConfigSchema.safeParse(input ?? {});
  if (r.success) return r.data;
  throw new RulesConfigError(r.error.issues.map((i) => ({ key: i.path.map(String).join('.') || '(root)', problem: i.message })));
}

export const DEFAULT_RULES_CONFIG: RulesConfig = parseRulesConfig({});
