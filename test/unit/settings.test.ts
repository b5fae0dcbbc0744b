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
    expect(() => settingsFor(operatorSettingSpecs, { config: path }, {})).toThrow(/key "hysteresis.cpuMilli": expected a number/);
    const typo = configFile('polcy: shared\n');
    expect(() => settingsFor(operatorSettingSpecs, { config: typo }, {})).toThrow(/unknown key "polcy"/);
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
