import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envOf, flagOf, resolveSettings, settingsFor, SettingsError } from '../../settings/settings.js';
import { operatorSettingSpecs, toOperatorSettings } from '../../operator/settings.js';
import { agentSettingSpecs, toAgentSettings } from '../../agent/settings.js';
import { main } from '../../cli/main.js';

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'loom-settings-'));
  const path = join(dir, 'loom.yaml');
  writeFileSync(path, text);
  return path;
}

describe('settings layering', () => {
  it('derives flag and env names from the key', () => {
    expect(flagOf('hysteresis.cpuMilli')).toBe('--hysteresis-cpu-milli');
    expect(envOf('hysteresis.cpuMilli')).toBe('LOOM_HYSTERESIS_CPU_MILLI');
    expect(envOf('cpuEvictBESatisfactionLowerPercent')).toBe('LOOM_CPU_EVICT_B_E_SATISFACTION_LOWER_PERCENT');
  });

  it('uses defaults when nothing is given', () => {
    const s = toOperatorSettings(resolveSettings({ specs: operatorSettingSpecs, flags: {}, env: {} }), {});
    expect(s.policy).toBe('partitioned');
    expect(s.headroomShare).toBe(0.5);
    expect(s.overCommitTimeoutMs).toBe(-1);
    expect(s.pollMs).toBe(2000);
    expect(s.hysteresis).toEqual({ cpuMilli: 1000, memoryBytes: 1073741824, percent: 5 });
  });

  it('orders flags over env over file over defaults', () => {
    const path = configFile('policy: shared\nheadroomShare: 0.3\nhysteresis:\n  percent: 7\npollSeconds: 5\n');
    const fileOnly = settingsFor(operatorSettingSpecs, { config: path }, {});
    expect(fileOnly.policy).toBe('shared');
    expect(fileOnly['hysteresis.percent']).toBe(7);
    const envOverFile = settingsFor(operatorSettingSpecs, { config: path }, { LOOM_HEADROOM_SHARE: '0.9' });
    expect(envOverFile.headroomShare).toBe(0.9);
    expect(envOverFile.policy).toBe('shared');
    const flagOverEnv = settingsFor(operatorSettingSpecs, { config: path, headroomShare: '0.1', policy: 'partitioned' }, { LOOM_HEADROOM_SHARE: '0.9' });
    expect(flagOverEnv.headroomShare).toBe(0.1);
    expect(flagOverEnv.policy).toBe('partitioned');
    expect(flagOverEnv.pollSeconds).toBe(5);
  });

  it('names the flag, variable or file key of a bad value', () => {
    expect(() => resolveSettings({ specs: operatorSettingSpecs, flags: { headroomShare: '1.5' }, env: {} }))
      .toThrow(/--headroom-share: must be ≤ 1, got 1.5/);
    expect(() => resolveSettings({ specs: operatorSettingSpecs, flags: {}, env: { LOOM_POLICY: 'greedy' } }))
      .toThrow(/LOOM_POLICY: expected one of partitioned, shared, got "greedy"/);
    const path = configFile('hysteresis:\n  cpuMilli: lots\n');
    expect(() => settingsFor(operatorSettingSpecs, { config: path }, {})).toThrow(/loom\.yaml \[hysteresis\.cpuMilli\]: expected a number, got "lots"/);
    const typo = configFile('polcy: shared\n');
    expect(() => settingsFor(operatorSettingSpecs, { config: typo }, {})).toThrow(/\[polcy\]: unknown key \(did you mean "policy"\?\)/);
    const notYaml = configFile('a: [unclosed\n');
    expect(() => settingsFor(operatorSettingSpecs, { config: notYaml }, {})).toThrow(SettingsError);
    expect(() => settingsFor(operatorSettingSpecs, { config: '/nonexistent/loom.yaml' }, {})).toThrow(/cannot read \(ENOENT\)/);
  });

  it('parses agent settings with koordlet rule names', () => {
    const v = resolveSettings({ specs: agentSettingSpecs, flags: { memoryEvictThresholdPercent: '80', rmUrl: 'http://a:8088, http://b:8088' }, env: { NODE_NAME: 'n1' } });
    const s = toAgentSettings(v, { NODE_NAME: 'n1' });
    expect(s.nodeName).toBe('n1');
    expect(s.rules.memoryEvictThresholdPercent).toBe(80);
    expect(s.rmUrls).toEqual(['http://a:8088', 'http://b:8088']);
    expect(s.socketMode).toBe(0o600);
    expect(() => resolveSettings({ specs: agentSettingSpecs, flags: { victimOrder: 'newest,cheapest' }, env: {} }))
      .toThrow(/unknown victim key\(s\): cheapest/);
  });
});

describe('loom command line', () => {
  it('exits 2 with one line for a bad flag value', async () => {
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => { errors.push(String(chunk)); return true; }) as typeof process.stderr.write;
    try {
      expect(await main(['operator', '--policy', 'bogus'])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(errors.join('')).toBe('loom operator: --policy: expected one of partitioned, shared, got "bogus"\n');
  });
});

describe('configuration reference', () => {
  it('docs/configuration.md is the one generated from the setting declarations', async () => {
    const { readFileSync } = await import('node:fs');
    const { renderConfigurationDoc } = await import('../../cli/config-doc.js');
    const onDisk = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(onDisk, 'run `npm run docs` after changing a setting').toBe(renderConfigurationDoc());
  });
});

/** stderr of an in-process `loom …` run, with the environment given for that run only. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  const errors: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  process.stderr.write = ((chunk: string) => { errors.push(String(chunk)); return true; }) as typeof process.stderr.write;
  try {
    return { code: await main(args), stderr: errors.join('') };
  } finally {
    process.stderr.write = write;
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

describe('settings file keys: exactly the documented forms', () => {
  const resolve = (yaml: string) => settingsFor(operatorSettingSpecs, { config: configFile(yaml) }, {});

  it('accepts a dotted key as the nested one (the form the reference table prints)', () => {
    expect(resolve('hysteresis.percent: 7\n')['hysteresis.percent']).toBe(7);
    expect(resolve('hysteresis:\n  percent: 7\n')['hysteresis.percent']).toBe(7);
    expect(resolve('hysteresis.cpuMilli: 250\nhysteresis:\n  percent: 3\n')).toMatchObject({ 'hysteresis.cpuMilli': 250, 'hysteresis.percent': 3 });
  });

  it('refuses a key given both nested and dotted', () => {
    expect(() => resolve('hysteresis.percent: 7\nhysteresis:\n  percent: 8\n')).toThrow(/\[hysteresis\.percent\]: given twice \(nested and dotted\)/);
  });

  it('says a group given a plain value is the wrong type, not an unknown key', () => {
    const err = (() => { try { resolve('hysteresis: 5\n'); } catch (e) { return e as Error; } return undefined; })();
    expect(err).toBeInstanceOf(SettingsError);
    expect(err!.message).toMatch(/loom\.yaml \[hysteresis\]: is a group of settings: expected a mapping of cpuMilli, memoryBytes, percent, got 5$/);
    expect(err!.message).not.toMatch(/unknown/);
  });

  it('names a YAML .NaN or .inf as such, never "null"', () => {
    expect(() => resolve('headroomShare: .NaN\n')).toThrow(/\[headroomShare\]: expected a finite number, got NaN$/);
    expect(() => resolve('pollSeconds: .inf\n')).toThrow(/\[pollSeconds\]: expected a finite number, got Infinity$/);
    expect(() => resolve('headroomShare: .NaN\n')).not.toThrow(/null/);
  });

  it('refuses a key without a value instead of silently using the default', () => {
    expect(() => resolve('policy:\n')).toThrow(/\[policy\]: has no value/);
  });

  it('refuses unknown keys by name, nested or dotted, with the nearest known key', () => {
    expect(() => resolve('hysteresis:\n  percnt: 5\n')).toThrow(/\[hysteresis\.percnt\]: unknown key \(did you mean "hysteresis\.percent"\?\)/);
    expect(() => resolve('hysteresis.bogus: 5\n')).toThrow(/\[hysteresis\.bogus\]: unknown key$/);
    expect(() => resolve('headroom-share: 0.3\n')).toThrow(/\[headroom-share\]: unknown key \(did you mean "headroomShare"\?\)/);
    expect(() => resolve('policy.extra: 1\n')).toThrow(/\[policy\.extra\]: unknown key/);
  });

  it('names a value of the wrong kind in words', () => {
    expect(() => resolve('policy: [a, b]\n')).toThrow(/\[policy\]: expected one of partitioned, shared, got a list$/);
    expect(() => resolve('rmUser: {a: 1}\n')).toThrow(/\[rmUser\]: expected a string, got a mapping$/);
  });
});

describe('loom command line: bad input names its flag or variable', () => {
  it('LOOM_LOG_LEVEL=verbose is one clear line, exit 2', async () => {
    const r = await cli(['status'], { LOOM_LOG_LEVEL: 'verbose' });
    expect(r).toEqual({ code: 2, stderr: 'loom status: LOOM_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"\n' });
  });

  it('--metrics-addr nonsense names the flag, also under --once', async () => {
    for (const args of [['operator', '--metrics-addr', 'nonsense'], ['operator', '--once', '--metrics-addr', 'nonsense'], ['agent', '--metrics-addr', 'nonsense']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^loom (operator|agent): --metrics-addr: "nonsense" is not host:port \(e\.g\. 0\.0\.0\.0:9464, :9464, \[::1\]:9464\)\n$/);
    }
    expect((await cli(['operator', '--once', '--metrics-addr', '0.0.0.0:99999'])).stderr).toMatch(/--metrics-addr: "0\.0\.0\.0:99999": port 99999 is out of range/);
  });

  it('a broken yarn-site.xml is one clear line naming the file, not a parser-internal array', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-conf-'));
    writeFileSync(join(dir, 'yarn-site.xml'), '<configuration>\n  <property><name>yarn.resourcemanager.hostname</name>\n');
    const r = await cli(['status', '--hadoop-conf-dir', dir, '--kubeconfig', '/nonexistent']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`loom status: ${join(dir, 'yarn-site.xml')}: not XML: the file ends before <configuration>, <property> are closed (line 1, column 1)\n`);
  });
});
